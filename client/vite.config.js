import { defineConfig } from 'vite';

// No @vitejs/plugin-react: esbuild compiles JSX with the automatic runtime.
export default defineConfig({
  esbuild: { jsx: 'automatic' },
  server: { port: 5173 },
  test: {
    environment: 'node',
    include: ['src/**/*.test.js'],
  },
});

// ESLint for the client: JavaScript's recommended rules, React's (JSX with
// the automatic runtime) and the rules of hooks. `npm run lint`, run by
// `make test`.
import js from '@eslint/js';
import globals from 'globals';
import react from 'eslint-plugin-react';
import reactHooks from 'eslint-plugin-react-hooks';

export default [
  { ignores: ['dist/', 'node_modules/'] },
  js.configs.recommended,
  react.configs.flat.recommended,
  react.configs.flat['jsx-runtime'],
  reactHooks.configs.flat.recommended,
  {
    files: ['**/*.{js,jsx}'],
    languageOptions: {
      ecmaVersion: 'latest',
      sourceType: 'module',
      globals: { ...globals.browser },
      parserOptions: { ecmaFeatures: { jsx: true } },
    },
    settings: { react: { version: 'detect' } },
    rules: {
      // The client has no PropTypes: its components are its own.
      'react/prop-types': 'off',
      // `const { dropped, ...rest } = o` is how a field is left out.
      'no-unused-vars': ['error', { ignoreRestSiblings: true }],
    },
  },
  {
    files: ['**/*.test.{js,jsx}', 'src/testing/**', '*.config.js'],
    languageOptions: { globals: { ...globals.node } },
  },
];

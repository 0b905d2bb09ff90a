# syntax=docker/dockerfile:1
# The server with the client built in: a static binary on a distroless base,
# run as a non-root user. Build: docker build -t zivro .
# Run: docker run -p 8080:8080 -e CLIENT_URL=https://your.domain zivro

# The client: a static bundle served by the server (same origin, so
# VITE_BACKEND_URL stays unset).
FROM node:22-bookworm-slim AS client
WORKDIR /src/client
COPY client/package.json client/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY client/ ./
RUN npm run build

# The server: static (no cgo), so that it runs on a base with no libc.
FROM golang:1.26-bookworm AS server
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/zivro .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=server /out/zivro /zivro
COPY --from=client /src/client/dist /client
# Platforms set PORT themselves; 8080 is the default of Fly.io and most
# container hosts.
ENV NODE_ENV=production \
    STATIC_DIR=/client \
    PORT=8080
USER nonroot:nonroot
EXPOSE 8080
# No curl in a distroless image: the binary checks its own /livez.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["/zivro", "healthcheck"]
ENTRYPOINT ["/zivro"]

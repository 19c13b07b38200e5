# The operator image: Node.js 24, the built JavaScript (dist/) and production dependencies only,
# run as a non-root user (the chart adds a read-only root filesystem and drops every capability).
#
#   docker build -t integration-operator:0.1.0 .
#   docker buildx build --platform linux/amd64,linux/arm64 -t <registry>/integration-operator:0.1.0 --push .
#
# Nothing here is architecture-specific: the build stage runs on the builder's own platform (its
# output is plain JavaScript) and the runtime dependencies are pure JavaScript/WebAssembly.
# For reproducible releases, pin the base image by digest (node:24-bookworm-slim@sha256:...).
# No `# syntax=` line: BuildKit would fetch that frontend image from a registry, and the Dockerfile
# frontend built into the engine reads this file as it is (the local node's images are built on
# machines that reach no registry: tools/images/build.ts).
ARG NODE_MAJOR=24

# --- build: compile src/ to dist/ with the project's pinned toolchain ---------------------------
# Debian, not Alpine: `npm ci` installs the pinned Node 24 devDependency (a glibc binary), which
# the npm scripts put first on PATH.
FROM --platform=$BUILDPLATFORM node:${NODE_MAJOR}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --workspaces=false: the root's own dependencies only. The npm workspaces (packages/apparatus-sdk,
# examples/apparatus) are not part of the operator and are not copied into the image.
RUN npm ci --workspaces=false --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src/ ./src/
RUN npm run build \
 && find dist -name '*.d.ts' -delete

# --- runtime: production dependencies and dist/ only --------------------------------------------
# Debian slim, as the build stage: the same base for both (one image to trust and patch), and the
# one that can also be made without a registry from Debian's packages and the Node.js binary of
# the npm package node@24 (tools/images/build.ts); an Alpine base cannot be made that way (no
# Alpine packages are reachable there, and that Node.js binary is linked against glibc).
FROM node:${NODE_MAJOR}-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# --ignore-scripts: no dependency needs an install script at runtime; the `node` devDependency
# (the pinned toolchain) is omitted, the image's own Node 24 runs the operator.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --workspaces=false --no-audit --no-fund \
 && npm cache clean --force \
 && rm -rf /root/.npm /tmp/*
COPY --from=build /src/dist ./dist

LABEL org.opencontainers.image.title="integration-operator" \
      org.opencontainers.image.description="Plug/Socket integration operator for Kubernetes (integration.rock8s.com/v1beta1)" \
      org.opencontainers.image.licenses="Apache-2.0"

# The base image's `node` user, numeric so that `runAsNonRoot: true` can verify it.
USER 1000:1000
# /metrics and /healthz + /readyz (METRICS_BIND_ADDRESS, HEALTH_PROBE_BIND_ADDRESS).
EXPOSE 8080 8081
# Configuration comes from the environment (the Helm chart sets it); `--help` lists every setting.
# V8 flags: a small young generation (scavenges stay cheap) and a heap that grows slowly. With 16
# workers a burst of 10,000 couplings peaked at 236-242 MiB resident without --optimize-for-size and
# at 133-142 MiB with it, for the same CPU (bench/run.ts runs the operator with the same flags).
# They are arguments, not NODE_OPTIONS, which refuses --optimize-for-size.
ENTRYPOINT ["node", "--max-semi-space-size=2", "--optimize-for-size", "dist/main.js"]

# syntax=docker/dockerfile:1
# A CPU training worker: the native backend (OpenBLAS GEMM and fused kernels, an N-API addon) and
# the forge CLI (for `forge prepare`). Build from the repository root:
#   docker build -f docker/worker-cpu.Dockerfile -t llm-forge/worker-cpu:0.1.0 .
ARG NODE_VERSION=20.19.5

# 1. Compile the worker and the CLI, and the native addon against Debian's OpenBLAS.
#    The full node image has python3, make and g++ for node-gyp.
FROM node:${NODE_VERSION}-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libopenblas-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# build-addon.js never fails an install (it falls back to wasm); here a missing addon is an error.
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm run build:native \
 && test -f libs/tfjs-backend-native/build/Release/forge_native.node \
 && npx tsc -b apps/worker/tsconfig.lib.json apps/cli/tsconfig.lib.json \
 && sh docker/stage-outputs.sh /out apps/worker apps/cli

# 2. Production dependencies of the worker and the CLI.
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY . .
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
      --workspace @llm-forge/worker --workspace @llm-forge/cli

# 3. Runtime: OpenBLAS's shared library (the addon links it), code owned by root, run as `node`.
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libopenblas0-pthread \
 && rm -rf /var/lib/apt/lists/*
# One malloc arena for every thread from the start: the compute thread's tensors then live in the
# heap that the native backend tunes and puts in huge pages (libs/tfjs-backend-native/README.md).
ENV NODE_ENV=production \
    GLIBC_TUNABLES=glibc.malloc.arena_max=1 \
    FORGE_BACKEND=native \
    FORGE_COLLECTIVE_PORT=50052 \
    FORGE_METRICS_PORT=9464
# /data: where compose mounts its named volume; a new volume takes this owner (node).
RUN mkdir -p /data && chown node:node /data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /out/ ./
# The addon must load with this image's shared libraries (libopenblas.so.0, libstdc++).
RUN node -e "process.dlopen({ exports: {} }, '/app/libs/tfjs-backend-native/build/Release/forge_native.node')"
USER node
EXPOSE 50052 9464
CMD ["node", "apps/worker/dist/main.js"]

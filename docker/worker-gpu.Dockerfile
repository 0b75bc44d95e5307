# syntax=docker/dockerfile:1
# A GPU training worker: @tensorflow/tfjs-node-gpu (libtensorflow 2.9 with CUDA 11 and cuDNN 8)
# selected with FORGE_BACKEND=tensorflow, on NVIDIA's CUDA runtime image; also the forge CLI.
# Run with the NVIDIA container toolkit (`--gpus`, or a GPU request in Kubernetes). Build from
# the repository root:
#   docker build -f docker/worker-gpu.Dockerfile -t llm-forge/worker-gpu:0.1.0 .
ARG NODE_VERSION=20.19.5
# libtensorflow 2.9 needs CUDA 11.x and cuDNN 8; 11.8 is the first CUDA with Hopper (sm_90).
ARG CUDA_IMAGE=nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04
# Must equal the @tensorflow/tfjs-core version in package-lock.json (one tfjs engine).
ARG TFJS_VERSION=4.22.0

# The Node.js binaries (official builds, glibc 2.28+, so they run on Ubuntu 22.04 too).
FROM node:${NODE_VERSION}-bookworm-slim AS node

# 1. Compile the worker and the CLI (plain JavaScript out: portable to the CUDA image).
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY . .
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npx tsc -b apps/worker/tsconfig.lib.json apps/cli/tsconfig.lib.json \
 && sh docker/stage-outputs.sh /out apps/worker apps/cli

# 2. Production dependencies, plus tfjs-node-gpu built on the CUDA image's own Ubuntu. npm cannot
#    add a package to the lockfile-pinned workspace install, so it goes to /opt/tfjs; its copies
#    of the tfjs packages the workspace already has are removed, so that through NODE_PATH it
#    registers the `tensorflow` backend on the same tfjs-core engine the worker uses.
FROM ${CUDA_IMAGE} AS deps
ARG TFJS_VERSION
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
WORKDIR /app
COPY . .
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
      --workspace @llm-forge/worker --workspace @llm-forge/cli \
 && npm install --prefix /opt/tfjs --omit=dev --no-audit --no-fund --no-save \
      "@tensorflow/tfjs-node-gpu@${TFJS_VERSION}" \
 && rm -rf /opt/tfjs/node_modules/@tensorflow/tfjs-core /opt/tfjs/node_modules/@tensorflow/tfjs-backend-cpu \
 && NODE_PATH=/opt/tfjs/node_modules:/app/node_modules node -e "\
      const tf = require('@tensorflow/tfjs-core'); require('@tensorflow/tfjs-node-gpu'); \
      if (!tf.findBackendFactory('tensorflow')) { console.error('tfjs-node-gpu did not register on the workspace tfjs-core'); process.exit(1); }"

# 3. Runtime on the CUDA image: Node.js, the code (owned by root) and an unprivileged user.
FROM ${CUDA_IMAGE} AS runtime
RUN groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/sh --create-home node
COPY --from=node /usr/local/bin/node /usr/local/bin/node
# libtensorflow 2.9 has no Hopper kernels: the driver compiles its PTX on first use and caches
# the result; /tmp stays writable under a read-only root filesystem, and the cache must be big.
ENV NODE_ENV=production \
    NODE_PATH=/opt/tfjs/node_modules:/app/node_modules \
    CUDA_CACHE_PATH=/tmp/cuda-cache \
    CUDA_CACHE_MAXSIZE=4294967296 \
    FORGE_BACKEND=tensorflow \
    FORGE_COLLECTIVE_PORT=50052 \
    FORGE_METRICS_PORT=9464
# /data: where compose mounts its named volume; a new volume takes this owner (node).
RUN mkdir -p /data && chown node:node /data
WORKDIR /app
COPY --from=deps /opt/tfjs /opt/tfjs
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /out/ ./
# libtensorflow must load with this image's libraries (CUDA libraries load lazily, on a GPU).
RUN node -e "require('@tensorflow/tfjs-node-gpu')"
USER node
EXPOSE 50052 9464
CMD ["node", "apps/worker/dist/main.js"]

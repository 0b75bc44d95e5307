# syntax=docker/dockerfile:1
# The coordinator with the dashboard: REST API, dashboard and /metrics on :3000, the workers' gRPC
# control plane on :50051. Build from the repository root:
#   docker build -f docker/coordinator.Dockerfile -t llm-forge/coordinator:0.1.0 .
ARG NODE_VERSION=20.19.5

# 1. Compile the coordinator (with the libraries it references), the native addon against Debian's
#    OpenBLAS (POST /generate runs the model in a worker thread of the coordinator), and build the
#    dashboard. The full node image has python3, make and g++ for node-gyp.
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
 && npx tsc -b apps/coordinator/tsconfig.lib.json \
 && npm run build --workspace @llm-forge/dashboard \
 && sh docker/stage-outputs.sh /out apps/coordinator apps/dashboard

# 2. Production dependencies of the coordinator alone: no TypeScript or Vite.
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY . .
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --workspace @llm-forge/coordinator

# 3. Runtime: compiled JavaScript, the dashboard's static files and node_modules, owned by root
#    and read-only for the unprivileged `node` user (uid 1000) that runs the process.
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# OpenBLAS's shared library (the addon links it).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libopenblas0-pthread \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    FORGE_BACKEND=native \
    PORT=3000 \
    FORGE_GRPC_PORT=50051 \
    FORGE_DASHBOARD_DIR=/app/apps/dashboard/dist \
    FORGE_RUNS_DIR=/data/runs
# /data: where compose mounts its named volume; a new volume takes this owner (node).
RUN mkdir -p /data && chown node:node /data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /out/ ./
USER node
EXPOSE 3000 50051
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "apps/coordinator/dist/main.js"]

# The almanac-executor image: the executor service's bundle (npm run build), its production dependencies
# and the project's computations. Build from the repository root (docs/adr/0025):
#   docker build -f infra/docker/executor.Dockerfile -t REGISTRY/almanac-executor:TAG .

# 1. build: the whole workspace, then the bundle dist/apps/executor (main.js, package.json, package-lock.json).
# --ignore-scripts: no native module is built here (better-sqlite3 is left out of the bundles).
FROM node:20-slim AS build
WORKDIR /repo
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npx nx run app-executor:build

# 2. deps: the bundle's own package.json and lock, production dependencies only
FROM node:20-slim AS deps
WORKDIR /app
COPY --from=build /repo/dist/apps/executor/package.json /repo/dist/apps/executor/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# 3. runtime: the bundle, its node_modules and the project; files owned by root, run as node
FROM node:20-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080 ALMANAC_PROJECT_ROOT=/app/project
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /repo/dist/apps/executor/ ./
# computations are TypeScript loaded at run time (tsx); the warehouse is mounted or configured
# with ALMANAC_WAREHOUSE_PATH
COPY almanac.config.ts ./project/
COPY computations/ ./project/computations/
USER node
EXPOSE 8080
# no HEALTHCHECK: Kubernetes probes /health/live and /health/ready (infra/gcp/kubernetes.ts)
CMD ["node", "main.js"]

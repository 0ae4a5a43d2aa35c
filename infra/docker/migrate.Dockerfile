# The almanac-migrate image: the Spanner migration command (libs/eventlog) bundled with the DDL
# of infra/spanner; the Kubernetes Job almanac-migrate runs it (infra/gcp/kubernetes.ts). Build
# from the repository root (docs/adr/0025):
#   docker build -f infra/docker/migrate.Dockerfile -t REGISTRY/almanac-migrate:TAG .

# 1. build: the whole workspace, then the bundle dist/apps/migrate (main.js, spanner/*.sql, package.json, package-lock.json).
# --ignore-scripts: no native module is built here.
FROM node:20-slim AS build
WORKDIR /repo
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npx nx run spanner-migrate:build

# 2. deps: the bundle's own package.json and lock, production dependencies only
FROM node:20-slim AS deps
WORKDIR /app
COPY --from=build /repo/dist/apps/migrate/package.json /repo/dist/apps/migrate/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# 3. runtime: the bundle and its node_modules; files owned by root, run as node
FROM node:20-slim
ENV NODE_ENV=production SPANNER_DDL_DIR=/app/spanner
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /repo/dist/apps/migrate/ ./
USER node
CMD ["node", "main.js"]

# syntax=docker/dockerfile:1
# Builds any lab service, named by its directory: docker build --build-arg SERVICE=saga-orchestrator/flights .
# (the console: SERVICE=console, run as `node src/start.ts` without the CMD's telemetry register,
# as docker-compose.yml runs it: see console/src/start.ts).
# There is no compile step: Node 24 strips TypeScript types itself, so the image holds sources.

ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV CI=true
# pnpm from the npm registry, at the exact version package.json pins (no corepack).
COPY package.json ./
RUN npm install --global --no-audit --no-fund \
      "pnpm@$(node -p 'require("./package.json").packageManager.split("@")[1]')" \
 && pnpm --version
# Every dependency the lockfile names, fetched before the sources so code edits reuse this layer.
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
# The workspace patches a dependency (patches/): the lockfile records the patch's hash.
COPY patches ./patches
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store pnpm fetch --prod --store-dir /pnpm/store

FROM deps AS build
ARG SERVICE
RUN test -n "$SERVICE" || { echo "build with --build-arg SERVICE=<lab>/<service> (or console)" >&2; exit 1; }
COPY . .
# Not `pnpm deploy`: it copies @lab/shared into node_modules, where Node refuses to strip types; a
# filtered workspace install keeps shared/ a symlink that resolves to its real path outside it.
# --prod installs what this service and the packages it uses run on, and no devDependency: the
# test kit's testcontainers and vitest never enter an image. The braces matter: `./dir...` is
# read as the directory alone, leaving @lab/shared's own dependencies out; `{./dir}...` takes the
# packages it depends on too (scripts/check-compose.sh makes this install and resolves every
# import of each service against it). --prefer-offline, not --offline: a pruned cache mount
# behind a still-cached fetch layer falls back to the registry instead of failing the build.
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm install --prefer-offline --frozen-lockfile --prod --store-dir /pnpm/store --filter "{./${SERVICE}}..."

FROM ${NODE_IMAGE} AS runtime
ARG SERVICE
ENV NODE_ENV=production
WORKDIR /app
# The workspace as built: sibling packages a service uses (@lab/shared, a lab's participant kit)
# are symlinks into it, and only this service's dependencies are linked where it resolves them.
# The image still carries every lab's sources and, in node_modules/.pnpm, the production packages
# `pnpm fetch` put there for the whole workspace (the price of one cached fetch layer for every
# service). Files stay owned by root, so the service user can read but never rewrite its own code.
COPY --from=build /app ./
WORKDIR /app/${SERVICE}
USER node
# SIGTERM reaches node directly (exec form, PID 1) so the graceful shutdown path runs.
# --import loads tracing before the service's modules, so HTTP, Express, pg and ioredis are
# instrumented and one trace crosses every container (see shared/src/telemetry/register.ts).
CMD ["node", "--import", "@lab/shared/telemetry/register", "src/start.ts"]

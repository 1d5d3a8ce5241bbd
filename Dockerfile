# Mosaic: one image for the gateway, every subgraph and the migration job.
#   docker build -t mosaic .
#   docker run mosaic                                        # everything in one process tree
#   docker run mosaic node dist/scripts/start.js post --no-migrate
#   docker run mosaic node dist/scripts/db-migrate.js
# docker-compose.yml runs one container per service from this image.

# An exact tag: the Node release the `node` devDependency pins (package.json), so the image
# runs what CI tests. (Digests could not be read offline; bump both together.)
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS base
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

# ---- deps: every dependency, dev ones included (tsc, prisma CLI) --------------------
FROM base AS deps
COPY package.json package-lock.json ./
# --ignore-scripts skips the `node` devDependency's preinstall (a 120 MB Node binary
# download; this image already runs Node 24) and Prisma's engine download. The one
# install step the build needs, `prisma generate`, runs explicitly below. The `node`
# package's bin link is removed so npm scripts use the image's node.
# patches/ holds small fixes to dependencies (see patches/README.md); `npm ci` applies
# them in its postinstall, skipped here, so patch-package runs explicitly. The whole
# directory is copied: every patch in it applies, whatever its name.
COPY patches/ ./patches/
RUN npm ci --ignore-scripts \
 && npx patch-package --error-on-fail \
 && rm -f node_modules/.bin/node

# ---- build: generate the Prisma client, compile TypeScript to dist/ -----------------
FROM deps AS build
COPY . .
# The generated client (lib/generated/prisma, TypeScript) is compiled by tsc into
# dist/lib/generated/prisma, so the runtime stage needs neither the prisma CLI nor
# the schema file. `npm run build` also copies each subgraph's SDL into dist/.
# schema/supergraph.graphql is normally committed; compose it only if it is missing.
RUN node scripts/prisma-generate.mjs \
 && npm run build \
 && { test -f schema/supergraph.graphql || node dist/scripts/schema-compose.js; }

# ---- prod-deps: production dependencies only -----------------------------------------
FROM base AS prod-deps
COPY package.json package-lock.json ./
# No production dependency needs an install script (@node-rs/argon2 ships prebuilt
# binaries as optional dependencies; protobufjs' postinstall is only a version notice).
# The static ffmpeg/ffprobe binaries of the @ffmpeg-installer/@ffprobe-installer packages
# (ffmpeg there is a 2018 build) are removed: the image runs Debian's (runtime stage).
# --legacy-peer-deps: @prisma/client lists the prisma CLI and typescript as optional
# peers, which the lockfile marks devOptional, so plain --omit=dev still installs them
# and their closure (about 250 MB: Studio, pglite, effect...). The runtime needs neither;
# a real runtime peer must be listed in "dependencies" itself.
RUN npm ci --omit=dev --ignore-scripts --legacy-peer-deps \
 && rm -rf node_modules/@ffmpeg-installer node_modules/@ffprobe-installer \
 && npm cache clean --force
# The patched packages, as the deps stage left them (same lockfile, same versions).
COPY --from=deps /app/node_modules/@apollo/gateway ./node_modules/@apollo/gateway

# ---- runtime --------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    FFMPEG_PATH=/usr/bin/ffmpeg \
    FFPROBE_PATH=/usr/bin/ffprobe
# Debian's maintained ffmpeg/ffprobe (security updates with each image rebuild) probe, grab
# the poster frame of and remux uploaded videos (subgraphs/post/src/media/ffmpeg.ts).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg \
 && rm -rf /var/lib/apt/lists/* \
 && ffmpeg -version | sed -n 1p
WORKDIR /app
# Application files stay owned by root (read-only to the `node` user that runs them).
# package.json is needed at runtime: it carries "type": "module" for dist/.
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# schema/ holds the composed supergraph (SUPERGRAPH_PATH, relative to /app).
COPY --from=build /app/schema ./schema
# Read by dist/scripts/db-migrate.js (path relative to /app).
COPY prisma/migrations ./prisma/migrations
# The only writable place: local media storage when no object storage is configured.
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
# The gateway's and the subgraphs' ports (lib/registry.ts), and those of the workers run on
# their own (feed-worker, search-worker, notification-worker: /health and /metrics on their subgraph's port + 100).
EXPOSE 4000 4001 4002 4003 4004 4005 4006 4007 4104 4105 4107
# Liveness: GET /health on HEALTHCHECK_PORT (compose sets it per service; 4000 = gateway).
# No curl in the slim image, so Node's fetch does the probe.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HEALTHCHECK_PORT||4000)+'/health',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/scripts/start.js"]

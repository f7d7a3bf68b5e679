# syntax=docker/dockerfile:1
# Floorplan's production image: `docker build -t floorplan .`, then run it with
# `docker run -p 4000:4000 -e UPSTREAM_CART_URL=… floorplan` (see README, "Deploying").
# It runs `node --use-largepages=on --max-semi-space-size=64 --min-semi-space-size=64 --no-memory-reducer --heap-growing-percent=50 --no-maglev --max-inlined-bytecode-size=1840 --max-inlined-bytecode-size-cumulative=3680 dist/server/main.js` as the unprivileged `node` user (uid 1000) with
# NODE_ENV=production and config/production.yaml: no demo upstreams, real upstream URLs
# required, keys from a JWKS endpoint.
#
# CI cannot pull base images, so test/deploy/dockerfile.test.ts runs this file's own WORKDIR,
# COPY, ENV, RUN and VOLUME steps in a temporary folder and starts what its CMD names: an instruction
# that test does not know fails it. Keep both base images on the Node the project is tested
# on (the `node` dev dependency in package.json; the test checks they agree).

# Stage 1: every dependency, then the TypeScript build (tsconfig.build.json → dist/src/; bench/
# is not in the build context, so only src/ is compiled) and the bundle esbuild makes of it and
# its dependencies (dist/server/). npm's cache is a BuildKit cache mount in both stages: kept
# between builds, never in a layer.
FROM node:24.21.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build
# The empty folder the image's volume starts from (below).
RUN mkdir -p state

# Stage 2: production dependencies only (pino and PGlite are left out of the bundle and load from
# node_modules: pino's transports and PGlite's WebAssembly are files they find beside their own
# code), the bundled server, and the files it reads at run time from its working directory:
# config/ (default.yaml + production.yaml), floors/, and schema/ (found by walking up from
# dist/server/).
FROM node:24.21.0-bookworm-slim AS runtime
ENV NODE_ENV=production FLOORPLAN_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund
COPY --from=build /app/dist/server ./dist/server
COPY schema ./schema
COPY config ./config
COPY floors ./floors
# The last live layouts served (LAYOUT_LAST_GOOD_FILE), for a start while the revision store and
# Redis are both down: on a volume, not under /app, which the image's user cannot write (and which
# may be read-only). The Kubernetes manifests mount an emptyDir at the same path. Docker gives each
# container an anonymous volume here, kept across its restarts and lost with it; mount a named
# one (-v floorplan-state:/var/lib/floorplan) to keep it longer. The folder is the image's user's,
# and a new volume starts from it, owner included. (COPY --chown rather than RUN mkdir && chown:
# test/deploy/dockerfile.test.ts runs these steps without Docker, where a RUN on an absolute path
# would write to the test machine's own /var/lib.)
COPY --from=build --chown=1000:1000 /app/state /var/lib/floorplan
ENV LAYOUT_LAST_GOOD_FILE=/var/lib/floorplan/last-known-good.json
VOLUME /var/lib/floorplan
# The base image's `node` user, by number so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 4000
# `--use-largepages=on`: Node copies its own code (V8's builtins among it, ~40 MB) onto 2 MB pages at
# start, so the processor needs one address translation per 2 MB of it instead of per 4 KB (TLB
# misses cannot be counted on the bench machine; the CPU can): 4–5 % less CPU per panel, for
# ~11 MB more RSS and ~65 ms more at start (BENCHMARKS.md, session 40). It needs the host's
# transparent huge pages (`madvise` or `always`); where they are off, Node says "Large pages are not
# enabled." once and runs as before.
# A 64 MB semi-space, as Node gives it on a machine with gigabytes to spare. In a container Node
# sizes its heap from the memory limit instead: under 512Mi it would pick a 1 MB semi-space, a
# scavenge every few panels, 503s under modest load and 3× the CPU per panel (BENCHMARKS.md,
# "Under a container's memory limit"). Heap limit with it, under 512Mi: 448 MB. The minimum keeps
# it there after a quiet spell: V8 shrinks an idle young generation to 1 MB, and a replica that
# then meets load promotes ~13× more per scavenge (24–28 ms pauses, p99 +40–120 ms, refusals at
# half load) until it recovers (BENCHMARKS.md, "A young generation that never shrinks"). Idle, the untouched pages are still
# given back. 32 MB saves 55–62 MB of RSS at 200 connections for 1–3 % more CPU per panel, but one
# of five servers run with it in bench/gc-windows.ts fell into promoting most of what its requests
# held: a mark-compact in every 10 s window and a p99 of 114–177 ms at half load (BENCHMARKS.md,
# session 40).
# `--no-memory-reducer --heap-growing-percent=50` let the old generation grow by half its
# live size between mark-compacts: with the reducer V8 grows it by ~10 % (a mark-compact every
# ~30 s at half load), with neither by up to 4× (RSS ~60 MB higher under steady load; BENCHMARKS.md,
# session 35). `--no-maglev --max-inlined-bytecode-size=1840 --max-inlined-bytecode-size-cumulative=3680`:
# hot code optimized by TurboFan alone (no Maglev tier in between) with four times its default inlining
# budget, 1–6 % less CPU per panel at the same RSS once warm; the first seconds of load may cost more
# (BENCHMARKS.md, session 37). Same as start:prod.
CMD ["node", "--use-largepages=on", "--max-semi-space-size=64", "--min-semi-space-size=64", "--no-memory-reducer", "--heap-growing-percent=50", "--no-maglev", "--max-inlined-bytecode-size=1840", "--max-inlined-bytecode-size-cumulative=3680", "dist/server/main.js"]

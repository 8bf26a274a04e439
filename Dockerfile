# syntax=docker/dockerfile:1
# One image recipe for the five services (docs/adr/0024-deployment.md): the stages up to `runtime` are shared,
# and each service is a target of its own that differs only in its port and the file it runs:
#   docker build --target orchestrator -t countersign/orchestrator .
# A service runs with the same compilation as `npm run start:distributed` and the tests: `node -r @swc-node/register
# apps/<service>/src/main.ts` (swc transpiles the TypeScript in memory at start; nothing is written to disk).
# tools/register.js, which they use, is @swc-node/register's compilation plus an on-disk cache of its output.
# No secret is baked in: tokens, keys and credentials come from mounted files and the environment at run time,
# and configuration is validated at boot (a missing setting stops the process with one line).
ARG NODE_IMAGE=node:20.20-bookworm-slim

# Production dependencies only, from the lock file. Install scripts stay off: nothing in the tree needs one
# (swc's native binary is an optional dependency of its own, chosen by platform).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# The shared runtime: the code owned by root and read-only to the service user; one writable directory.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    SWC_NODE_PROJECT=/app/tsconfig.json \
    KAFKAJS_NO_PARTITIONER_WARNING=1 \
    FLAGS_BACKUP_DIR=/var/lib/countersign/flags-backup \
    AUDIT_HEAD_STORE_DIR=/var/lib/countersign/tree-heads
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.base.json tsconfig.json .swcrc ./
COPY libs ./libs
COPY apps ./apps
# `node` (uid 1000) is the base image's unprivileged user; Kubernetes' runAsNonRoot checks the numeric id.
RUN mkdir -p /var/lib/countersign && chown 1000:1000 /var/lib/countersign
USER 1000:1000
# HOST stays at the services' default (127.0.0.1) in the image: compose and Kubernetes set HOST=0.0.0.0 for the
# container's own network namespace, and publish the port on the host's loopback only (compose) or a ClusterIP.

FROM runtime AS orchestrator
ENV PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "-r", "@swc-node/register", "apps/orchestrator/src/main.ts"]

FROM runtime AS policy-engine
ENV PORT=8081
EXPOSE 8081
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "-r", "@swc-node/register", "apps/policy-engine/src/main.ts"]

FROM runtime AS review-queue
ENV PORT=8082
EXPOSE 8082
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "-r", "@swc-node/register", "apps/review-queue/src/main.ts"]

FROM runtime AS executor
ENV PORT=8083
EXPOSE 8083
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "-r", "@swc-node/register", "apps/executor/src/main.ts"]

FROM runtime AS audit-writer
ENV PORT=8084
EXPOSE 8084
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "-r", "@swc-node/register", "apps/audit-writer/src/main.ts"]

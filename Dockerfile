# syntax=docker/dockerfile:1
# The relay in production mode: `docker build -t cosell-relay .` then
# `docker run --env-file .env -p 3000:3000 cosell-relay` (settings: .env.example).
# tests/e2e/productionImage.test.ts performs these steps in a temporary folder and starts the result.

# ---- dependencies: production packages only, installed from the lockfile --------------------
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ---- runtime: the code and those packages, run by an unprivileged user ------------------------
FROM node:24-bookworm-slim
ENV NODE_ENV=production PORT=3000 COSELL_MODE=production
WORKDIR /app
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
COPY --chown=node:node package.json package-lock.json ./
COPY --chown=node:node relay ./relay
COPY --chown=node:node config ./config
COPY --chown=node:node force-app ./force-app
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Migrations run at every start (under an advisory lock); `node relay/src/cli/main.ts migrate` also works as a one-off.
CMD ["node", "relay/src/main.ts"]

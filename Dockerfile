# syntax=docker/dockerfile:1
# agentrelay container image.
#   docker build -t agentrelay:0.1.0 .
#   docker run -p 4317:4317 -p 4318:4318 -e AGENTRELAY_TOKEN=... agentrelay:0.1.0
# Config: /etc/agentrelay/config.yaml (mount yours over it). Data (file exporter output,
# audit archives): the volume /var/lib/agentrelay, also the working directory, so the
# recipes' ./agentrelay-data paths land in it. SIGHUP reloads the config
# (docker kill -s HUP <container>). See docs/deploy.md.

# Node.js LTS; the relay needs Node >= 20.18.
ARG NODE_VERSION=24

# Production dependencies only, with no install scripts run.
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Compile TypeScript with the dev dependencies; only dist/src and dist/processors move on.
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY proto ./proto
COPY src ./src
COPY processors ./processors
COPY test ./test
RUN npx tsc -p . \
 && find dist -name '*.test.js' -delete \
 && find dist -name '*.map' -delete

FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production \
    AGENTRELAY_GRPC_ENDPOINT=0.0.0.0:4317 \
    AGENTRELAY_HTTP_ENDPOINT=0.0.0.0:4318 \
    AGENTRELAY_HEALTH_ENDPOINT=0.0.0.0:13133 \
    AGENTRELAY_METRICS_ENDPOINT=0.0.0.0:8888 \
    AGENTRELAY_DATA_DIR=/var/lib/agentrelay
RUN groupadd --system --gid 10001 agentrelay \
 && useradd --system --uid 10001 --gid agentrelay --home-dir /var/lib/agentrelay --no-create-home --shell /usr/sbin/nologin agentrelay \
 && mkdir -p /var/lib/agentrelay /etc/agentrelay \
 && chown agentrelay:agentrelay /var/lib/agentrelay
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/dist/processors ./dist/processors
COPY package.json ./
COPY proto ./proto
COPY config ./config
COPY examples/docker/agentrelay.yaml /etc/agentrelay/config.yaml
USER 10001:10001
WORKDIR /var/lib/agentrelay
VOLUME ["/var/lib/agentrelay"]
# OTLP/gRPC, OTLP/HTTP, the relay's own Prometheus metrics, /healthz and /readyz.
EXPOSE 4317 4318 8888 13133
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "/app/dist/src/cli.js", "healthcheck", "--config", "/etc/agentrelay/config.yaml"]
ENTRYPOINT ["node", "/app/dist/src/cli.js"]
CMD ["--config", "/etc/agentrelay/config.yaml"]

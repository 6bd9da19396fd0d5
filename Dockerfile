# Wisp on a pinned Bun image; runs the README's start command (`bun run main.ts`).
FROM oven/bun:1.4.5-slim

# libcrypto.so.3: SRTP AES-GCM calls it through bun:ffi (lib/rtp/aesGcm.ts) and from lib/rtp/srtpFrame.c
# (compiled at start-up by Bun's built-in TinyCC), else falls back to slower node:crypto.
RUN apt-get update && apt-get install -y --no-install-recommends libssl3 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
ENV NODE_ENV=production PORT=8080

# Runtime dependencies only (hono, werift); Bun migrates package-lock.json.
COPY package.json package-lock.json ./
RUN bun install --production --ignore-scripts

COPY main.ts ./
COPY lib ./lib
COPY routes ./routes

# The image's unprivileged user.
USER bun
# HTTP (API, WHIP/WHEP, player) and the one UDP port of all WebRTC media (WEBRTC_UDP_ADDR).
EXPOSE 8080/tcp 8080/udp
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s \
  CMD bun -e "const r = await fetch('http://127.0.0.1:' + (process.env.PORT ?? 8080) + '/healthz'); process.exit(r.ok ? 0 : 1)"
CMD ["bun", "run", "main.ts"]

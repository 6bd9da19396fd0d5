import { Hono } from "hono";
import { cors } from "hono/cors";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import {
  AbortedError,
  BadRequestError,
  ForbiddenError,
  LimitReachedError,
  NotFoundError,
  PayloadTooLargeError,
  RequestTimeoutError,
  ServiceUnavailableError,
  StaleSessionError,
  UnauthorizedError,
  UnprocessableError,
  UnsupportedMediaTypeError,
} from "../lib/errors.ts";
import { adminOnly } from "./adminAuth.ts";
import { adminApiRoutes } from "./adminApi.ts";
import { boundedBodies } from "./bodyLimits.ts";
import type { AppContext } from "./context.ts";
import { iceServerLinks } from "./iceLinks.ts";
import { allowOnly } from "./methods.ts";
import { countRequests } from "./httpMetrics.ts";
import { ingestRoutes } from "./ingest.ts";
import { metricsRoutes } from "./metrics.ts";
import { playerRoutes } from "./player.ts";
import { streamParamsRoutes } from "./streamParams.ts";
import { streamRoutes } from "./streams.ts";
import { trickleRoutes } from "./trickle.ts";
import { udpRoutes } from "./udp.ts";
import { viewerReportRoutes } from "./viewerReport.ts";
import { whepRoutes } from "./whep.ts";
import { whepEventRoutes } from "./whepEvents.ts";
import { whipRoutes } from "./whip.ts";

/** The one table from domain errors to HTTP status codes. */
const STATUS_BY_ERROR: Array<[new (...args: never[]) => Error, ContentfulStatusCode]> = [
  [BadRequestError, 400],
  [UnauthorizedError, 401],
  [ForbiddenError, 403],
  [NotFoundError, 404],
  [RequestTimeoutError, 408],
  [StaleSessionError, 409],
  [PayloadTooLargeError, 413],
  [UnsupportedMediaTypeError, 415],
  [UnprocessableError, 422],
  [LimitReachedError, 429],
  [ServiceUnavailableError, 503],
  [AbortedError, 408], // the client stopped waiting; nobody reads it
];

/**
 * Paths whose body is a stream bounded by its own rules: a push (INGEST_IDLE_TIMEOUT_MS, the program
 * probe), a trickle segment (TRICKLE_MAX_SEGMENT_BYTES, TRICKLE_FIRST_BYTE_TIMEOUT_MS).
 */
const isStreamedBody = (path: string) => path.startsWith("/ingest/") || path.startsWith("/trickle/");

export function createApp(ctx: AppContext): Hono {
  const app = new Hono();
  // Before everything, so it counts every answer, errors and CORS preflights included.
  app.use("*", countRequests(ctx.metrics));
  // Outermost, so it also marks the CORS middleware's own preflight answers (RFC 9725 4.1: Accept-Post).
  const links = iceServerLinks(ctx.config.iceServers);
  app.use("/:family{whep|whip}/*", async (c, next) => {
    await next();
    if (c.req.method === "OPTIONS") c.res.headers.set("Accept-Post", "application/sdp");
    if (c.req.method === "OPTIONS" || c.res.status === 201) {
      for (const link of links) c.res.headers.append("Link", link);
    }
  });
  app.use(
    "*",
    cors({
      origin: "*",
      allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
      allowHeaders: ["Content-Type", "If-Match", "Authorization"],
      exposeHeaders: [
        "Location",
        "ETag",
        "Link",
        "Accept-Patch",
        "Accept-Post",
        "Allow",
        "Retry-After",
        "WWW-Authenticate",
        "Wisp-Request-Id",
        "Wisp-Playback-Url",
        "Wisp-Player-Url",
        "Lp-Trickle-Seq",
        "Lp-Trickle-Latest",
        "Lp-Trickle-Closed",
        "Lp-Trickle-Reset",
      ],
    }),
  );
  const { maxBodyBytes, bodyTimeoutMs } = ctx.config;
  app.use("*", boundedBodies({ maxBytes: maxBodyBytes, timeoutMs: bodyTimeoutMs, streamed: isStreamedBody }));
  app.onError((error, c) => {
    const status = STATUS_BY_ERROR.find(([type]) => error instanceof type)?.[1];
    if (error instanceof UnauthorizedError) c.header("WWW-Authenticate", bearerChallenge(error));
    if (error instanceof ServiceUnavailableError && error.retryAfterS) {
      c.header("Retry-After", String(error.retryAfterS));
    }
    if (status) return c.text(`${error.message}\n`, status);
    ctx.logger.error("request failed", { method: c.req.method, path: c.req.path, error: String(error.stack ?? error) });
    return c.text("internal server error\n", 500);
  });
  // Every /api route: ADMIN_TOKEN when set; without it reads are open and writes refused.
  app.use("/api/*", adminOnly(ctx.config.adminToken));
  app.get("/healthz", (c) => c.text(ctx.drain.draining ? "draining\n" : "ok\n", ctx.drain.draining ? 503 : 200));
  allowOnly(app, "/healthz", ["GET", "HEAD"]);
  app.route("/whep", whepRoutes(ctx));
  app.route("/whep", viewerReportRoutes(ctx));
  app.route("/whep", whepEventRoutes(ctx));
  app.route("/whip", whipRoutes(ctx));
  app.route("/ingest", ingestRoutes(ctx));
  // No publish/play token: a trickle channel's unguessable name is its credential (routes/trickle.ts).
  app.route("/trickle", trickleRoutes(ctx));
  app.route("/api/streams", adminApiRoutes(ctx)); // before streamRoutes, whose 405 would take DELETE /{name}
  app.route("/api/streams", streamParamsRoutes(ctx));
  app.route("/api/streams", streamRoutes(ctx));
  app.route("/api/udp", udpRoutes(ctx));
  app.route("/metrics", metricsRoutes(ctx));
  app.route("/", playerRoutes(ctx));
  return app;
}

/** RFC 6750 3: the challenge; a token that was sent but refused is `invalid_token` (3.1). */
function bearerChallenge(error: UnauthorizedError): string {
  return error.tokenRefused ? 'Bearer realm="wisp", error="invalid_token"' : 'Bearer realm="wisp"';
}

import { Hono, type Context } from "hono";
import { NotFoundError, UnauthorizedError } from "../lib/errors.ts";
import { assertStreamName } from "../lib/registry.ts";
import { WhipPublisher } from "../lib/webrtc/whipPublisher.ts";
import type { AppContext } from "./context.ts";
import { patchCandidates, requireContentType, SDP, SDP_FRAGMENT } from "./sdpHttp.ts";

/**
 * WHIP (RFC 9725): POST an offer -> 201 + answer + Location; PATCH trickles
 * candidates; DELETE ends the publish. The 201 also says where to watch.
 */
export function whipRoutes(ctx: AppContext): Hono {
  const app = new Hono();
  const publishers = new Map<string, WhipPublisher>();

  app.options("/:stream", (c) => c.body(null, 204));

  app.post("/:stream", async (c) => {
    const name = c.req.param("stream");
    assertStreamName(name);
    authorize(ctx, c);
    requireContentType(c, SDP);
    const publisher = await WhipPublisher.create({
      streamName: name,
      offerSdp: await c.req.text(),
      registry: ctx.registry,
      peers: ctx.peers,
      logger: ctx.logger,
      keyframeIntervalMs: ctx.config.whipKeyframeIntervalMs,
    });
    publishers.set(publisher.id, publisher);
    publisher.onClose(() => publishers.delete(publisher.id));
    const requestId = publisher.session!.requestId;
    const origin = new URL(c.req.url).origin;
    const stream = encodeURIComponent(name);
    c.header("Location", `/whip/${stream}/${publisher.id}`);
    c.header("ETag", publisher.etag);
    c.header("Accept-Patch", SDP_FRAGMENT);
    c.header("Wisp-Request-Id", requestId);
    c.header("Wisp-Playback-Url", `${origin}/whep/${stream}?requestId=${requestId}`);
    c.header("Wisp-Player-Url", `${origin}/play/${stream}`);
    c.header("Content-Type", SDP);
    return c.body(publisher.answerSdp, 201);
  });

  const find = (c: Context) => {
    const publisher = publishers.get(c.req.param("id") ?? "");
    if (!publisher || publisher.session?.name !== c.req.param("stream")) {
      throw new NotFoundError(`no WHIP session ${c.req.param("id")} on stream "${c.req.param("stream")}"`);
    }
    return publisher;
  };

  app.patch("/:stream/:id", (c) => {
    authorize(ctx, c);
    return patchCandidates(c, find(c));
  });

  app.delete("/:stream/:id", (c) => {
    authorize(ctx, c);
    find(c).close("DELETE by the publisher");
    return c.text("publish ended\n", 200);
  });

  return app;
}

/** Bearer tokens (RFC 6750) when WHIP_TOKENS is set; open otherwise. */
function authorize(ctx: AppContext, c: Context): void {
  const tokens = ctx.config.whipTokens;
  if (tokens.length === 0) return;
  const token = /^Bearer (.+)$/.exec(c.req.header("Authorization") ?? "")?.[1];
  if (!token || !tokens.includes(token)) {
    throw new UnauthorizedError(token ? "the bearer token is not accepted" : "publishing needs an Authorization: Bearer token");
  }
}

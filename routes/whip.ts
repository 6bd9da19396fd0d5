import { type Context, Hono } from "hono";
import { NotFoundError } from "../lib/errors.ts";
import { WhipPublisher } from "../lib/webrtc/whipPublisher.ts";
import type { AppContext } from "./context.ts";
import { allowOnly } from "./methods.ts";
import { publicOrigin } from "./publicOrigin.ts";
import { publishOptionsOf } from "./publishOptions.ts";
import { acceptOffer, patchCandidates, SDP, SDP_FRAGMENT } from "./sdpHttp.ts";

/**
 * WHIP (RFC 9725): POST an offer -> 201 + answer + Location; PATCH trickles
 * candidates; DELETE ends the publish. The 201 also says where to watch.
 * The session resource's unguessable Location is its credential (as a WHEP
 * session's): PATCH and DELETE need no token.
 */
export function whipRoutes(ctx: AppContext): Hono {
  const app = new Hono();
  const publishers = new Map<string, WhipPublisher>();

  app.options("/:stream", (c) => c.body(null, 204));

  app.post("/:stream", async (c) => {
    const { name, offerSdp } = await acceptOffer(c, ctx, "publish");
    const publish = publishOptionsOf(c, ctx);
    const publisher = await WhipPublisher.create({
      streamName: name,
      publish,
      offerSdp,
      registry: ctx.registry,
      peers: ctx.peers,
      logger: ctx.logger,
      keyframeIntervalMs: ctx.config.whipKeyframeIntervalMs,
      connectTimeoutMs: ctx.config.connectTimeoutMs,
    });
    publishers.set(publisher.id, publisher);
    publisher.onClose(() => publishers.delete(publisher.id));
    const requestId = publisher.session!.requestId;
    const origin = publicOrigin(c, ctx.config.trustProxy);
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
  allowOnly(app, "/:stream", ["POST"]);

  const find = (c: Context) => {
    const publisher = publishers.get(c.req.param("id") ?? "");
    if (!publisher || publisher.session?.name !== c.req.param("stream")) {
      throw new NotFoundError(`no WHIP session ${c.req.param("id")} on stream "${c.req.param("stream")}"`);
    }
    return publisher;
  };

  app.patch("/:stream/:id", (c) => patchCandidates(c, find(c)));

  app.delete("/:stream/:id", (c) => {
    find(c).close("DELETE by the publisher");
    return c.text("publish ended\n", 200);
  });
  allowOnly(app, "/:stream/:id", ["PATCH", "DELETE"]);

  return app;
}

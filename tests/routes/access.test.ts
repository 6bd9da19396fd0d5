import { afterEach, describe, expect, test } from "bun:test";
import type { AccessRequest } from "../../lib/auth/accessControl.ts";
import type { IngestSession } from "../../lib/ingest/ingestSession.ts";
import { readFixture } from "../fixtures/readFixture.ts";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";
import { chromeLikeOffer } from "../webrtc/chromeOffer.ts";

const AV = readFixture("av.mpegts");

let server: TestServer | undefined;
let hook: ReturnType<typeof Bun.serve> | undefined;
/** Streams a test started: it ends them (its viewers and publishers with them) before the leak check. */
const started: IngestSession[] = [];
afterEach(async () => {
  for (const session of started.splice(0)) session.end("finished");
  await checkAndClose(server);
  await hook?.stop(true);
  server = undefined;
  hook = undefined;
});

const pushTo = (s: TestServer, path: string, headers: Record<string, string> = {}) =>
  s.app.request(
    path,
    { method: "PUT", headers, body: new Blob([Buffer.from(AV)]).stream(), duplex: "half" } as RequestInit,
  );
const offerTo = (s: TestServer, path: string, offer: string, headers: Record<string, string> = {}) =>
  s.app.request(path, { method: "POST", headers: { "Content-Type": "application/sdp", ...headers }, body: offer });
const publishOffer = () => chromeLikeOffer({ direction: "sendonly" });

/** A live stream "cam" with tracks, as if a push had started. */
function liveCam(s: TestServer) {
  const session = s.registry.startSession("cam");
  session.write(AV.subarray(0, 188 * 100));
  started.push(session);
  return session;
}

describe("publishing needs a publish token on every publishing route", () => {
  test("/ingest: 401 + WWW-Authenticate without one; Bearer header or ?token= both work", async () => {
    server = await startTestServer({ PUBLISH_TOKENS: "enc0der" });
    const none = await pushTo(server, "/ingest/cam");
    expect(none.status).toBe(401);
    expect(none.headers.get("WWW-Authenticate")).toBe('Bearer realm="wisp"');
    expect(await none.text()).toContain('publishing to "cam" needs a token');
    const wrong = await pushTo(server, "/ingest/cam?token=nope");
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("WWW-Authenticate")).toBe('Bearer realm="wisp", error="invalid_token"');
    expect((await pushTo(server, "/ingest/cam", { Authorization: "Bearer enc0der" })).status).toBe(200);
    expect((await pushTo(server, "/ingest/cam?token=enc0der")).status).toBe(200);
  });

  test("WHIP_TOKENS is an alias: it protects /ingest as well as /whip", async () => {
    server = await startTestServer({ WHIP_TOKENS: "old-name" });
    expect((await pushTo(server, "/ingest/cam")).status).toBe(401);
    expect((await offerTo(server, "/whip/cam", publishOffer())).status).toBe(401);
    const published = await offerTo(server, "/whip/cam?token=old-name", publishOffer());
    expect(published.status).toBe(201);
    expect((await server.app.request(published.headers.get("Location")!, { method: "DELETE" })).status).toBe(200);
  });

  test("taking over a live name is a publish: an anonymous push or WHIP offer leaves the stream and its session alone", async () => {
    server = await startTestServer({ PUBLISH_TOKENS: "enc0der" });
    const live = liveCam(server);
    expect((await pushTo(server, "/ingest/cam")).status).toBe(401);
    expect((await offerTo(server, "/whip/cam", publishOffer())).status).toBe(401);
    expect(server.registry.current("cam")).toBe(live);
    expect(live.ended).toBe(false);
  });
});

describe("playing", () => {
  test("open by default; with PLAY_TOKENS a WHEP POST needs one (a publish token is not one)", async () => {
    server = await startTestServer({ PLAY_TOKENS: "viewer1", PUBLISH_TOKENS: "enc0der" });
    liveCam(server);
    expect((await offerTo(server, "/whep/cam", chromeLikeOffer())).status).toBe(401);
    expect((await offerTo(server, "/whep/cam", chromeLikeOffer(), { Authorization: "Bearer enc0der" })).status).toBe(
      401,
    );
    const res = await offerTo(server, "/whep/cam?token=viewer1", chromeLikeOffer());
    expect(res.status).toBe(201);
    // The session resource's unguessable Location is its credential: DELETE needs no token.
    expect((await server.app.request(res.headers.get("Location")!, { method: "DELETE" })).status).toBe(200);
  });
});

describe("AUTH_WEBHOOK_URL", () => {
  test("asked for every publish and play; its 403 is the client's 403", async () => {
    const asked: AccessRequest[] = [];
    hook = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(req) {
        const body = (await req.json()) as AccessRequest;
        asked.push(body);
        return new Response(null, { status: body.token === "good" ? 200 : 403 });
      },
    });
    server = await startTestServer({ AUTH_WEBHOOK_URL: `http://127.0.0.1:${hook.port}/auth` });
    expect((await pushTo(server, "/ingest/cam?token=good&region=eu")).status).toBe(200);
    liveCam(server);
    const denied = await offerTo(server, "/whep/cam", chromeLikeOffer(), {
      Authorization: "Bearer bad",
      "User-Agent": "ua/1",
    });
    expect(denied.status).toBe(403);
    expect(await denied.text()).toContain('playing "cam" is denied by the auth webhook (403)');
    expect((await offerTo(server, "/whip/cam?token=bad", publishOffer())).status).toBe(403);
    expect(asked.map(({ action, stream, token }) => [action, stream, token])).toEqual([
      ["publish", "cam", "good"],
      ["play", "cam", "bad"],
      ["publish", "cam", "bad"],
    ]);
    expect(asked[0]!.query).toBe("token=good&region=eu");
    expect(asked[1]!.userAgent).toBe("ua/1");
  });
});

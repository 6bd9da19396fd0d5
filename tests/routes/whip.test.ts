import { afterEach, describe, expect, test } from "bun:test";
import type { IngestSession } from "../../lib/ingest/ingestSession.ts";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";
import { chromeLikeOffer } from "../webrtc/chromeOffer.ts";

let server: TestServer | undefined;
/** Streams a test started itself: it ends them before the leak check. */
const started: IngestSession[] = [];
afterEach(async () => {
  for (const session of started.splice(0)) session.end("finished");
  await checkAndClose(server);
  server = undefined;
});

const publishOffer = (video?: string[]) => chromeLikeOffer({ direction: "sendonly", ...(video ? { video } : {}) });
function post(s: TestServer, body: string, headers: Record<string, string> = {}) {
  return s.app.request("/whip/cam", {
    method: "POST",
    headers: { "Content-Type": "application/sdp", ...headers },
    body,
  });
}

describe("POST /whip/{stream}", () => {
  test("201: answer, Location, ETag, request ID and where to watch; a live session exists at once", async () => {
    server = await startTestServer();
    const res = await post(server, publishOffer());
    expect(res.status).toBe(201);
    expect(res.headers.get("Location")).toMatch(/^\/whip\/cam\/[A-Za-z0-9_-]{22}$/);
    expect(res.headers.get("ETag")).toMatch(/^"/);
    const requestId = res.headers.get("Wisp-Request-Id")!;
    expect(res.headers.get("Wisp-Playback-Url")).toBe(`http://localhost/whep/cam?requestId=${requestId}`);
    expect(res.headers.get("Wisp-Player-Url")).toBe("http://localhost/play/cam");
    const answer = await res.text();
    expect(answer).toContain("a=recvonly");
    expect(answer).toMatch(/a=rtpmap:\d+ H264\/90000/);
    expect(answer).toMatch(/a=fmtp:\d+ .*packetization-mode=1/);
    // Tracks are known from the SDP: the output is ready before any media.
    expect(server.registry.current("cam")?.output.tracks?.map((t) => t.codec)).toEqual(["h264", "opus"]);
    const del = await server.app.request(res.headers.get("Location")!, { method: "DELETE" });
    expect(del.status).toBe(200);
    expect(server.registry.current("cam")).toBeUndefined();
  });

  test("a VP8-only offer gets 422 saying H.264 is required, and replaces nothing", async () => {
    server = await startTestServer();
    const live = server.registry.startSession("cam");
    started.push(live);
    const res = await post(server, publishOffer(["96 VP8/90000"]));
    expect(res.status).toBe(422);
    expect(await res.text()).toContain("needs H.264");
    expect(server.registry.current("cam")).toBe(live);
  });

  test("415 for a wrong content type", async () => {
    server = await startTestServer();
    const res = await server.app.request("/whip/cam", {
      method: "POST",
      headers: { "Content-Type": "text/plain" },
      body: "x",
    });
    expect(res.status).toBe(415);
  });

  test("with WHIP_TOKENS: 401 + WWW-Authenticate without a valid bearer token", async () => {
    server = await startTestServer({ WHIP_TOKENS: "s3cret, other" });
    const none = await post(server, publishOffer());
    expect(none.status).toBe(401);
    expect(none.headers.get("WWW-Authenticate")).toBe('Bearer realm="wisp"');
    expect(await none.text()).toContain("Authorization: Bearer");
    expect((await post(server, publishOffer(), { Authorization: "Bearer wrong" })).status).toBe(401);
    const ok = await post(server, publishOffer(), { Authorization: "Bearer other" });
    expect(ok.status).toBe(201);
    expect((await server.app.request(ok.headers.get("Location")!, { method: "DELETE" })).status).toBe(200);
  });

  test("OPTIONS advertises application/sdp", async () => {
    server = await startTestServer();
    const res = await server.app.request("/whip/cam", { method: "OPTIONS" });
    expect(res.headers.get("Accept-Post")).toBe("application/sdp");
  });
});

import { afterEach, describe, expect, test } from "bun:test";
import type { IngestSession } from "../../lib/ingest/ingestSession.ts";
import { eventually } from "../helpers/eventually.ts";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";
import { chromeLikeOffer } from "../webrtc/chromeOffer.ts";
import { readFixture } from "../fixtures/readFixture.ts";

const AV = readFixture("av.mpegts");
const VIDEO_ONLY = readFixture("video-only.mpegts");
const AAC = readFixture("aac.mpegts");

let server: TestServer | undefined;
/** Streams a test started: it ends them (its viewers with them) before the leak check. */
const started: IngestSession[] = [];
afterEach(async () => {
  for (const session of started.splice(0)) session.end("finished");
  await checkAndClose(server);
  server = undefined;
});

function post(s: TestServer, path: string, body: string, type = "application/sdp") {
  return s.app.request(path, { method: "POST", headers: { "Content-Type": type }, body });
}

/** A live stream whose PMT (and first second) has arrived. */
function liveStream(s: TestServer, name: string, bytes = AV) {
  const session = s.registry.startSession(name);
  session.write(bytes.subarray(0, 188 * 200));
  started.push(session);
  return session;
}

describe("POST /whep/{stream}", () => {
  test("415 for a wrong content type, with the reason", async () => {
    server = await startTestServer();
    const res = await post(server, "/whep/cam", chromeLikeOffer(), "text/plain");
    expect(res.status).toBe(415);
    expect(await res.text()).toContain("Content-Type must be application/sdp, got text/plain");
  });

  test("400 for a body that is not SDP, before any waiting", async () => {
    server = await startTestServer();
    const res = await post(server, "/whep/cam", "hello");
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("not an SDP offer");
  });

  test("400 for an invalid stream name", async () => {
    server = await startTestServer();
    const res = await post(server, "/whep/bad%20name", chromeLikeOffer());
    expect(res.status).toBe(400);
  });

  test("404 with a clear body when the stream does not appear in time; the slot is freed", async () => {
    server = await startTestServer({ WHEP_WAIT_TIMEOUT_MS: "50", WHEP_MAX_VIEWERS: "1" });
    const res = await post(server, "/whep/cam", chromeLikeOffer());
    expect(res.status).toBe(404);
    expect(await res.text()).toMatch(/stream "cam" is not live after waiting 50 ms/);
    expect(server.registry.viewerCount("cam")).toBe(0);
  });

  test("201 with answer, Location, ETag and request ID; DELETE ends the session", async () => {
    server = await startTestServer();
    const session = liveStream(server, "cam");
    const res = await post(server, "/whep/cam", chromeLikeOffer());
    expect(res.status).toBe(201);
    expect(res.headers.get("Content-Type")).toBe("application/sdp");
    const location = res.headers.get("Location")!;
    expect(location).toMatch(/^\/whep\/cam\/[A-Za-z0-9_-]{22}$/);
    expect(res.headers.get("ETag")).toMatch(/^"[A-Za-z0-9_-]{22}"$/);
    expect(res.headers.get("Wisp-Request-Id")).toBe(session.requestId);
    const answer = await res.text();
    expect(answer).toMatch(/m=video [1-9]\d* .*\r\n(.*\r\n)*a=sendonly/);
    expect(answer).toContain("a=candidate:");
    expect(answer).toContain("a=end-of-candidates");
    // The client starts DTLS: werift as DTLS client would first wait a fixed 100 ms.
    expect(answer).toContain("a=setup:passive");
    expect(server.viewers.size).toBe(1);
    expect(server.registry.viewerCount("cam")).toBe(1);

    const del = await server.app.request(location, { method: "DELETE" });
    expect(del.status).toBe(200);
    expect(server.viewers.size).toBe(0);
    expect(server.registry.viewerCount("cam")).toBe(0);
    expect((await server.app.request(location, { method: "DELETE" })).status).toBe(404);
  });

  test("a POST that came first is answered as soon as the PMT arrives", async () => {
    server = await startTestServer();
    const pending = post(server, "/whep/late", chromeLikeOffer());
    await eventually(() => server!.registry.waitingFor("late") === 1, "the POST to wait for the stream");
    liveStream(server, "late");
    const res = await pending;
    expect(res.status).toBe(201);
  });

  test("video-only stream: audio answered inactive", async () => {
    server = await startTestServer();
    liveStream(server, "vid", VIDEO_ONLY);
    const res = await post(server, "/whep/vid", chromeLikeOffer());
    expect(res.status).toBe(201);
    const answer = await res.text();
    const audio = answer.slice(answer.indexOf("m=audio"));
    expect(audio).toContain("a=inactive");
    expect(answer.slice(answer.indexOf("m=video"), answer.indexOf("m=audio"))).toContain("a=sendonly");
  });

  test("422 when the stream has no playable track for the offer (VP8-only offer)", async () => {
    server = await startTestServer();
    liveStream(server, "cam", VIDEO_ONLY);
    const res = await post(server, "/whep/cam", chromeLikeOffer({ video: ["96 VP8/90000"], audio: [] }));
    expect(res.status).toBe(422);
    expect(await res.text()).toContain("H.264");
    expect(server.registry.viewerCount("cam")).toBe(0);
  });

  test("an AAC stream plays its video and says why audio is missing", async () => {
    server = await startTestServer();
    liveStream(server, "aac", AAC);
    const res = await post(server, "/whep/aac", chromeLikeOffer());
    expect(res.status).toBe(201);
    const info = await (await server.app.request("/api/streams/aac")).json();
    const audio = info.tracks.find((t: { kind: string }) => t.kind === "audio");
    expect(audio).toMatchObject({ codec: "aac", playable: false });
    expect(audio.reason).toMatch(/Opus/);
  });

  test("429 at the viewer cap; a freed place can be taken again", async () => {
    server = await startTestServer({ WHEP_MAX_VIEWERS: "1" });
    liveStream(server, "cam");
    const first = await post(server, "/whep/cam", chromeLikeOffer());
    expect(first.status).toBe(201);
    const second = await post(server, "/whep/cam", chromeLikeOffer());
    expect(second.status).toBe(429);
    expect(await second.text()).toContain('stream "cam" already has 1 of 1 viewers');
    await server.app.request(first.headers.get("Location")!, { method: "DELETE" });
    expect((await post(server, "/whep/cam", chromeLikeOffer())).status).toBe(201);
  });

  test("stream end closes its viewers and frees their places", async () => {
    server = await startTestServer();
    const session = liveStream(server, "cam");
    expect((await post(server, "/whep/cam", chromeLikeOffer())).status).toBe(201);
    expect(server.viewers.size).toBe(1);
    session.end("finished");
    expect(server.registry.current("cam")).toBeUndefined();
    // No reconnect grace here (the tests' default): the stream ends once its pipeline has flushed.
    await eventually(() => server!.viewers.size === 0, "the viewer to close with its stream");
    expect(server.registry.viewerCount("cam")).toBe(0);
    expect(server.registry.list()).toEqual([]);
  });
});

describe("PATCH and OPTIONS", () => {
  test("PATCH adds candidates (204), checks If-Match (412) and the content type (415)", async () => {
    server = await startTestServer();
    liveStream(server, "cam");
    const res = await post(server, "/whep/cam", chromeLikeOffer());
    const location = res.headers.get("Location")!;
    const frag = "a=mid:0\r\na=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\n";
    const patch = (headers: Record<string, string>) =>
      server!.app.request(location, { method: "PATCH", headers, body: frag });
    expect((await patch({ "Content-Type": "application/trickle-ice-sdpfrag" })).status).toBe(204);
    expect(
      (await patch({ "Content-Type": "application/trickle-ice-sdpfrag", "If-Match": '"other"' })).status,
    ).toBe(412);
    expect((await patch({ "Content-Type": "application/sdp" })).status).toBe(415);
    const restart = await server.app.request(location, {
      method: "PATCH",
      headers: { "Content-Type": "application/trickle-ice-sdpfrag" },
      body: "a=ice-ufrag:new1\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n",
    });
    expect(restart.status).toBe(422);
  });

  test("OPTIONS answers CORS preflight and exposes the WHEP headers", async () => {
    server = await startTestServer();
    const res = await server.app.request("/whep/cam", {
      method: "OPTIONS",
      headers: { Origin: "https://example.org", "Access-Control-Request-Method": "POST" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe("*");
    expect(res.headers.get("Access-Control-Allow-Methods")).toContain("PATCH");
    const post = await server.app.request("/whep/cam", { method: "OPTIONS" });
    expect(post.headers.get("Accept-Post")).toBe("application/sdp");
    const cors = await server.app.request("/healthz", { headers: { Origin: "https://example.org" } });
    expect(cors.headers.get("Access-Control-Expose-Headers")).toContain("Location");
  });
});

describe("announced addresses and ICE servers", () => {
  test("a public IP is announced with the mux port instead of the interface addresses", async () => {
    server = await startTestServer({ WEBRTC_PUBLIC_IPS: "203.0.113.7" });
    liveStream(server, "cam");
    const res = await post(server, "/whep/cam", chromeLikeOffer());
    const answer = await res.text();
    const hosts = [...answer.matchAll(/a=candidate:\S+ \d+ udp \d+ (\S+) (\d+) typ host/g)].map((m) =>
      `${m[1]}:${m[2]}`
    );
    expect(new Set(hosts)).toEqual(new Set([`203.0.113.7:${server.webrtc.mux!.port}`]));
  });

  test("ICE servers are sent as Link rel=ice-server on the 201 and on OPTIONS", async () => {
    server = await startTestServer({
      ICE_SERVERS: "stun:stun.example.org:3478,turn:turn.example.org:3478",
      ICE_USERNAME: "u",
      ICE_CREDENTIAL: "p",
    });
    liveStream(server, "cam");
    const expected = [
      '<stun:stun.example.org:3478>; rel="ice-server"',
      '<turn:turn.example.org:3478>; rel="ice-server"; username="u"; credential="p"; credential-type="password"',
    ].join(", ");
    const options = await server.app.request("/whep/cam", { method: "OPTIONS" });
    expect(options.headers.get("Link")).toBe(expected);
    // werift would try these servers; only the header is checked here (no network in tests).
    const res = await post(server, "/whep/cam", chromeLikeOffer());
    // The 201 also links the session's server-sent events (the WHEP extension), first.
    expect(res.headers.get("Link")).toMatch(
      new RegExp(
        `^</whep/cam/[\\w-]+/sse>; rel="urn:ietf:params:whep:ext:core:server-sent-events"; events="active,inactive,viewercount,reconnect", ${
          expected.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
        }$`,
      ),
    );
  });
});

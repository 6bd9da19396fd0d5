import { afterEach, describe, expect, test } from "bun:test";
import type { IngestSession } from "../../lib/ingest/ingestSession.ts";
import { readFixture } from "../fixtures/readFixture.ts";
import { eventually } from "../helpers/eventually.ts";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";
import { chromeLikeOffer } from "../webrtc/chromeOffer.ts";

const AV = readFixture("av.mpegts");

let server: TestServer | undefined;
/** Streams a test started: it ends them (its viewers with them) before the leak check. */
const started: IngestSession[] = [];
afterEach(async () => {
  for (const session of started.splice(0)) session.end("finished");
  await checkAndClose(server);
  server = undefined;
});

const sdpPost = (s: TestServer, path: string, body: BodyInit, headers: Record<string, string> = {}) =>
  s.app.request(
    path,
    { method: "POST", headers: { "Content-Type": "application/sdp", ...headers }, body, duplex: "half" } as RequestInit,
  );

function liveStream(s: TestServer, name: string) {
  const session = s.registry.startSession(name);
  session.write(AV.subarray(0, 188 * 100));
  started.push(session);
  return session;
}

/** A body that sends `first` and then nothing more until cancelled. */
function stalledBody(first: string) {
  return new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(new TextEncoder().encode(first)) });
}

describe("body limits on every route but /ingest", () => {
  test("an offer over MAX_BODY_BYTES is 413, declared or chunked, and nothing is negotiated", async () => {
    server = await startTestServer({ MAX_BODY_BYTES: "4096" });
    liveStream(server, "cam");
    const big = chromeLikeOffer() + "a=x-padding:" + "x".repeat(8000) + "\r\n";
    const declared = await sdpPost(server, "/whep/cam", big);
    expect(declared.status).toBe(413);
    expect(await declared.text()).toContain("larger than 4096 bytes (MAX_BODY_BYTES)");
    const chunked = await sdpPost(server, "/whip/cam", new Blob([big]).stream());
    expect(chunked.status).toBe(413);
    expect(server.viewers.size).toBe(0);
  });

  test("a PATCH fragment over the limit is 413", async () => {
    server = await startTestServer({ MAX_BODY_BYTES: "1024" });
    const res = await server.app.request("/whep/cam/abc", {
      method: "PATCH",
      headers: { "Content-Type": "application/trickle-ice-sdpfrag" },
      body: "a=candidate:" + "1".repeat(2000),
    });
    expect(res.status).toBe(413);
  });

  test("a body that does not arrive within BODY_TIMEOUT_MS is 408 (slow loris)", async () => {
    server = await startTestServer({ BODY_TIMEOUT_MS: "300" });
    const started = performance.now();
    const res = await sdpPost(server, "/whep/cam", stalledBody("v=0\r\n"));
    expect(res.status).toBe(408);
    expect(await res.text()).toContain("did not arrive within 300 ms (BODY_TIMEOUT_MS)");
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe("offers", () => {
  test("more media sections than MAX_OFFER_MEDIA: 400 before any waiting or negotiation", async () => {
    server = await startTestServer({ MAX_OFFER_MEDIA: "4" });
    const offer = chromeLikeOffer();
    const extra = offer.slice(offer.indexOf("m=audio")).replace(/a=mid:1/, "a=mid:%");
    const many = offer + [2, 3, 4].map((mid) => extra.replace("%", String(mid))).join("");
    const res = await sdpPost(server, "/whep/cam", many);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("has 5 media sections; at most 4 are accepted (MAX_OFFER_MEDIA)");
  });

  // Each of these got "500 internal server error" when werift threw on it.
  const base = chromeLikeOffer();
  const MALFORMED: Array<[string, string]> = [
    ["no ice-ufrag", base.replaceAll(/a=ice-ufrag:.*\r\n/g, "")],
    ["no ice-pwd", base.replaceAll(/a=ice-pwd:.*\r\n/g, "")],
    ["no fingerprint", base.replaceAll(/a=fingerprint:.*\r\n/g, "")],
    ["an unknown fingerprint hash", base.replaceAll(/a=fingerprint:sha-256/g, "a=fingerprint:md7")],
    ["a port that is not a number", base.replace("m=video 9 ", "m=video nine ")],
    ["rtpmap garbage", base.replace(/a=rtpmap:102 [^\r]*/, "a=rtpmap:xx")],
    ["BUNDLE naming a mid that does not exist", base.replace("a=group:BUNDLE 0 1", "a=group:BUNDLE 7 8")],
    ["no a=mid lines", base.replaceAll(/a=mid:.*\r\n/g, "")],
    ["a candidate line of garbage", base.replace("a=rtcp-mux", "a=candidate:garbage\r\na=rtcp-mux")],
    ["a=setup of an unknown role", base.replaceAll("a=setup:actpass", "a=setup:bogus")],
    ["an m-line without formats", base.replace(/m=video 9 UDP\/TLS\/RTP\/SAVPF [^\r]*/, "m=video 9 UDP/TLS/RTP/SAVPF")],
    ["duplicate mids", base.replace("a=mid:1", "a=mid:0")],
    ["an ssrc that is not a number", base.replace("a=rtcp-mux", "a=ssrc:abc cname:x\r\na=rtcp-mux")],
    ["a line without '='", base.replace("a=rtcp-mux", "garbage line\r\na=rtcp-mux")],
    [
      "a payload type out of range",
      base.replace("102 H264/90000", "999 H264/90000").replace("a=fmtp:102", "a=fmtp:999"),
    ],
    ["a control character in an attribute", base.replace("a=ice-ufrag:Wisp", "a=ice-ufrag:Wi\u0000sp")],
  ];
  test.each(MALFORMED)(
    "an offer with %s gets a 4xx saying why, never a 5xx; the server still answers good offers",
    async (_, offer) => {
      server = await startTestServer();
      liveStream(server, "cam");
      for (const path of ["/whep/cam", "/whip/pub"]) {
        const res = await sdpPost(
          server,
          path,
          path.startsWith("/whip") ? offer.replaceAll("a=recvonly", "a=sendonly") : offer,
        );
        const text = await res.text();
        expect({ path, status: res.status < 500 ? "not 5xx" : res.status, text }).toMatchObject({ status: "not 5xx" });
        if (res.status >= 400) expect(text.trim().length).toBeGreaterThan(10);
        const location = res.headers.get("Location");
        if (location) await server.app.request(location, { method: "DELETE" });
      }
      expect((await sdpPost(server, "/whep/cam", chromeLikeOffer())).status).toBe(201);
    },
  );

  test("the offers missing what ICE and DTLS need are 400 naming the attribute", async () => {
    server = await startTestServer();
    liveStream(server, "cam");
    for (const [name, offer] of MALFORMED.slice(0, 3)) {
      const res = await sdpPost(server, "/whep/cam", offer);
      expect({ name, status: res.status }).toEqual({ name, status: 400 });
      expect(await res.text()).toContain(`lacks a=${name.slice(3)}`);
    }
  });
});

describe("counts", () => {
  test("MAX_STREAMS: a further name is 503 saying so; replacing a live name is still allowed", async () => {
    server = await startTestServer({ MAX_STREAMS: "1" });
    liveStream(server, "one");
    const res = await server.app.request(
      "/ingest/two",
      { method: "PUT", body: new Blob([Buffer.from(AV)]).stream(), duplex: "half" } as RequestInit,
    );
    expect(res.status).toBe(503);
    expect(await res.text()).toContain("already has 1 live streams, its limit (MAX_STREAMS)");
    const again = await server.app.request(
      "/ingest/one",
      { method: "PUT", body: new Blob([Buffer.from(AV)]).stream(), duplex: "half" } as RequestInit,
    );
    expect(again.status).toBe(200);
  });

  test("POSTs waiting for a stream are bounded per stream and in all (429), and hold no viewer place", async () => {
    server = await startTestServer({
      WHEP_MAX_WAITING_PER_STREAM: "2",
      WHEP_MAX_WAITING: "3",
      WHEP_MAX_VIEWERS: "1",
      WHEP_WAIT_TIMEOUT_MS: "5000",
    });
    const s = server;
    const waiting = [
      sdpPost(s, "/whep/a", chromeLikeOffer()),
      sdpPost(s, "/whep/a", chromeLikeOffer()),
      sdpPost(s, "/whep/b", chromeLikeOffer()),
    ];
    await eventually(() => s.registry.waitingFor("a") === 2 && s.registry.waitingFor("b") === 1, "three waiting POSTs");
    expect(s.registry.viewerCount("a")).toBe(0);
    const perStream = await sdpPost(s, "/whep/a", chromeLikeOffer());
    expect(perStream.status).toBe(429);
    expect(await perStream.text()).toContain(
      'stream "a" already has 2 requests waiting for it to go live (WHEP_MAX_WAITING_PER_STREAM)',
    );
    const total = await sdpPost(s, "/whep/c", chromeLikeOffer());
    expect(total.status).toBe(429);
    expect(await total.text()).toContain("(WHEP_MAX_WAITING)");
    liveStream(s, "a");
    liveStream(s, "b");
    // One place on "a": the first waiter answered takes it, the second is told the stream is full.
    expect((await Promise.all(waiting)).map((r) => r.status).sort()).toEqual([201, 201, 429]);
  });

  test("an answered viewer that never connects frees its place after WEBRTC_CONNECT_TIMEOUT_MS", async () => {
    server = await startTestServer({ WHEP_MAX_VIEWERS: "1", WEBRTC_CONNECT_TIMEOUT_MS: "1000" });
    liveStream(server, "cam");
    expect((await sdpPost(server, "/whep/cam", chromeLikeOffer())).status).toBe(201); // its ICE never starts
    expect((await sdpPost(server, "/whep/cam", chromeLikeOffer())).status).toBe(429);
    const [stuck] = server.viewers.list("cam");
    const started = performance.now();
    await new Promise((resolve) => stuck!.onClose(resolve));
    expect(performance.now() - started).toBeLessThan(1500);
    expect(stuck!.closeReason).toContain("not connected after 1000 ms");
    expect((await sdpPost(server, "/whep/cam", chromeLikeOffer())).status).toBe(201);
  });
});

describe("methods", () => {
  test.each([
    ["GET", "/whep/cam", "POST, OPTIONS"],
    ["PUT", "/whep/cam/abc", "PATCH, DELETE, OPTIONS"],
    ["GET", "/whip/cam", "POST, OPTIONS"],
    ["GET", "/ingest/cam", "PUT, POST, OPTIONS"],
    ["DELETE", "/ingest/cam", "PUT, POST, OPTIONS"],
    ["POST", "/api/streams", "GET, HEAD, OPTIONS"],
    ["POST", "/healthz", "GET, HEAD, OPTIONS"],
  ])("%s %s is 405 with Allow: %s", async (method, path, allow) => {
    server = await startTestServer();
    const res = await server.app.request(path, { method });
    expect(res.status).toBe(405);
    expect(res.headers.get("Allow")).toBe(allow);
    expect(await res.text()).toContain(`${method} is not allowed here`);
  });
});

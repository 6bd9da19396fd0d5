import { afterEach, describe, expect, test } from "bun:test";
import type { AccessUnit } from "../../lib/accessUnit.ts";
import type { IngestSession } from "../../lib/ingest/ingestSession.ts";
import { TsDemuxer } from "../../lib/mpegts/tsDemuxer.ts";
import { readFixture } from "../fixtures/readFixture.ts";
import { eventually } from "../helpers/eventually.ts";
import { feedRealtime } from "../helpers/feed.ts";
import { ffmpegPush } from "../helpers/ffmpegPush.ts";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";
import { whepPlay, type WhepTestClient } from "../helpers/wheriftClient.ts";
import { whipPublish, type WhipTestPublisher } from "../helpers/wheriftPublisher.ts";

const TOKEN = "4dm1n-t0ken";
const ADMIN = { Authorization: `Bearer ${TOKEN}` };
/** A viewer ended by the API must stop getting media at once, not at its consent timeout. */
const STOPS_WITHIN_MS = 2000;

let server: TestServer | undefined;
const peers: Array<WhepTestClient | WhipTestPublisher> = [];
const sessions: IngestSession[] = [];
let push: ReturnType<typeof ffmpegPush> | undefined;
afterEach(async () => {
  await Promise.all(peers.splice(0).map((peer) => peer.close()));
  for (const session of sessions.splice(0)) session.end("finished");
  await push?.stop();
  push = undefined;
  await checkAndClose(server);
  server = undefined;
});

/** A live stream "cam" fed at real time, as a push would. */
function liveCam(s: TestServer): IngestSession {
  const session = s.registry.startSession("cam");
  sessions.push(session);
  const feed = feedRealtime(session, readFixture("av.mpegts"), { durationMs: 2000, loops: 20 });
  session.onEnd(() => feed.stop());
  return session;
}

async function play(s: TestServer): Promise<WhepTestClient> {
  const client = await whepPlay(`${s.url}/whep/cam`);
  peers.push(client);
  expect(client.response.status).toBe(201);
  await client.until(() => client.video.length > 10);
  return client;
}

const viewerIdOf = (client: WhepTestClient) => client.location!.split("/").at(-1)!;

/** The client's DTLS transport closing: werift does it on the server's authentic close_notify. */
function dtlsClosed(client: WhepTestClient): Promise<void> {
  const dtls = client.pc.getTransceivers()[0]!.dtlsTransport as unknown as {
    state: string;
    onStateChange: { subscribe(listener: (state: string) => void): unknown };
  };
  if (dtls.state === "closed") return Promise.resolve();
  return new Promise((resolve) => dtls.onStateChange.subscribe((state) => state === "closed" && resolve()));
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((
    _,
    reject,
  ) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

describe("the admin API without ADMIN_TOKEN: reads open, writes refused", () => {
  test("GET /api routes answer; DELETE answers 403 saying to set ADMIN_TOKEN; no addresses are shown", async () => {
    server = await startTestServer({}, { listen: true });
    liveCam(server);
    const client = await play(server);
    expect((await fetch(`${server.url}/api/streams`)).status).toBe(200);
    expect((await fetch(`${server.url}/api/udp`)).status).toBe(200);
    const viewers = await (await fetch(`${server.url}/api/streams/cam/viewers`)).json();
    expect(viewers).toHaveLength(1);
    expect(viewers[0].id).toBe(viewerIdOf(client));
    expect(viewers[0]).not.toHaveProperty("remoteAddress");
    for (const path of ["/api/streams/cam", `/api/streams/cam/viewers/${viewerIdOf(client)}`]) {
      const refused = await fetch(`${server.url}${path}`, { method: "DELETE" });
      expect(refused.status).toBe(403);
      expect(await refused.text()).toContain("set ADMIN_TOKEN on the server to allow it");
    }
    expect(server.viewers.size).toBe(1);
    expect(server.registry.current("cam")).toBeDefined();
  });
});

describe("the admin API with ADMIN_TOKEN", () => {
  test("every /api route needs the token as a Bearer header: 401 + WWW-Authenticate otherwise", async () => {
    server = await startTestServer({ ADMIN_TOKEN: TOKEN });
    for (const path of ["/api/streams", "/api/streams/cam", "/api/udp", "/api/streams/cam/viewers"]) {
      const none = await server.app.request(path);
      expect(none.status).toBe(401);
      expect(none.headers.get("WWW-Authenticate")).toBe('Bearer realm="wisp"');
      expect(await none.text()).toContain("the admin API needs a token");
      const wrong = await server.app.request(path, { headers: { Authorization: "Bearer nope" } });
      expect(wrong.status).toBe(401);
      expect(wrong.headers.get("WWW-Authenticate")).toBe('Bearer realm="wisp", error="invalid_token"');
      expect((await server.app.request(`${path}?token=${TOKEN}`)).status).toBe(401); // not in the query
    }
    expect((await server.app.request("/api/streams", { method: "DELETE" })).status).toBe(401);
    expect((await server.app.request("/api/streams", { headers: ADMIN })).status).toBe(200);
    expect((await server.app.request("/api/udp", { headers: ADMIN })).status).toBe(200);
    expect((await server.app.request("/api/streams/cam", { headers: ADMIN })).status).toBe(404);
    expect((await server.app.request("/api/streams/cam", { method: "DELETE", headers: ADMIN })).status).toBe(404);
    // A CORS preflight carries no credentials: it is answered.
    const preflight = await server.app.request("/api/streams", {
      method: "OPTIONS",
      headers: { Origin: "https://ops.example", "Access-Control-Request-Method": "GET" },
    });
    expect(preflight.status).toBe(204);
  });

  test("the viewers: state, timing, what was sent, receiver reports, the player's report and the address", async () => {
    server = await startTestServer({ ADMIN_TOKEN: TOKEN }, { listen: true });
    liveCam(server);
    const client = await play(server);
    const report = await fetch(`${server.url}${client.location}/report`, {
      method: "POST",
      body: JSON.stringify({ timeToFirstFrameMs: 380, framesDecoded: 120 }), // sendBeacon's text/plain is fine
    });
    expect(report.status).toBe(204);
    const list = async () => await (await fetch(`${server!.url}/api/streams/cam/viewers`, { headers: ADMIN })).json();
    // werift sends a receiver report about once a second, so the round trip comes from our SRs after the hand-over.
    await eventually(
      async () => typeof (await list())[0]?.receiverReports.video?.roundTripMs === "number",
      "a round trip",
      {
        timeoutMs: 10_000,
        intervalMs: 200,
      },
    );
    const [viewer] = await list();
    expect(viewer).toMatchObject({
      id: viewerIdOf(client),
      state: "connected",
      player: { timeToFirstFrameMs: 380, framesDecoded: 120 },
      remoteAddress: "127.0.0.1",
    });
    expect(viewer.mediaAddress ?? "").toMatch(/^(127\.0\.0\.1:\d+)?$/);
    expect(Date.parse(viewer.connectedAt)).toBeGreaterThanOrEqual(Date.parse(viewer.createdAt));
    expect(viewer.timeToFirstPacketMs).toBeGreaterThan(0);
    expect(viewer.timeToFirstPacketMs).toBeLessThan(5000);
    expect(viewer.packetsSent).toBeGreaterThanOrEqual(client.video.length + client.audio.length);
    expect(viewer.bytesSent).toBeGreaterThan(viewer.packetsSent);
    expect(viewer.framesSent).toBeGreaterThan(0);
    const video = viewer.receiverReports.video;
    expect(video.fractionLost).toBe(0);
    expect(video.jitterMs).toBeGreaterThanOrEqual(0);
    expect(video.roundTripMs).toBeGreaterThanOrEqual(0);
    expect(video.roundTripMs).toBeLessThan(1000); // loopback
    expect((await fetch(`${server.url}/api/streams/other/viewers`, { headers: ADMIN })).status).toBe(404);
    expect((await fetch(`${server.url}/api/streams/bad%20name/viewers`, { headers: ADMIN })).status).toBe(400);
  });

  test("the player report: validated (400 with the reason), 404 for an unknown session, no token needed", async () => {
    server = await startTestServer({ ADMIN_TOKEN: TOKEN }, { listen: true });
    liveCam(server);
    const client = await play(server);
    const post = (path: string, body: string) => fetch(`${server!.url}${path}`, { method: "POST", body });
    const bad = await post(`${client.location}/report`, '{"stalls": -2}');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("stalls must be a whole number from 0 to");
    expect((await post(`${client.location}/report`, "{")).status).toBe(400);
    expect((await post("/whep/cam/not-a-session/report", "{}")).status).toBe(404);
    expect((await fetch(`${server.url}${client.location}/report`)).status).toBe(405);
    expect((await post(`${client.location}/report`, '{"stalls": 2}')).status).toBe(204);
    expect(server.viewers.get("cam", viewerIdOf(client))!.quality.player).toMatchObject({ stalls: 2 });
  });

  test("DELETE a viewer: its media stops within 2 s (RTCP BYE, DTLS close_notify); the other plays on", async () => {
    server = await startTestServer({ ADMIN_TOKEN: TOKEN, WHEP_MAX_VIEWERS: "0" }, { listen: true });
    liveCam(server);
    const ended = await play(server);
    const other = await play(server);
    const closed = dtlsClosed(ended);
    const id = viewerIdOf(ended);
    const response = await fetch(`${server.url}/api/streams/cam/viewers/${id}`, { method: "DELETE", headers: ADMIN });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ stream: "cam", viewerId: id, ended: true });
    await within(closed, STOPS_WITHIN_MS, "DTLS close at the client");
    const packetsAtClose = ended.video.length + ended.audio.length;
    const otherBefore = other.video.length;
    await other.until(() => other.video.length > otherBefore + 60); // ~2 s of the other viewer's media
    expect(ended.video.length + ended.audio.length).toBe(packetsAtClose);
    const left = await (await fetch(`${server.url}/api/streams/cam/viewers`, { headers: ADMIN })).json();
    expect(left.map((v: { id: string }) => v.id)).toEqual([viewerIdOf(other)]);
    expect((await fetch(`${server.url}/api/streams/cam/viewers/${id}`, { method: "DELETE", headers: ADMIN })).status)
      .toBe(404);
    expect((await fetch(`${server.url}/api/streams/cam/viewers/${id}`, { headers: ADMIN })).status).toBe(405);
  });

  test("DELETE a stream fed by an ffmpeg push: the push's request ends, and so do the stream and its viewers", async () => {
    server = await startTestServer({ ADMIN_TOKEN: TOKEN }, { listen: true });
    push = ffmpegPush("av.mpegts", `${server.url}/ingest/cam`);
    const client = await play(server);
    const closed = dtlsClosed(client);
    const { requestId } = server.registry.current("cam")!;
    const response = await fetch(`${server.url}/api/streams/cam`, { method: "DELETE", headers: ADMIN });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ stream: "cam", requestId, ended: true });
    await within(push.exited, 5000, "end of the ffmpeg push"); // its request was answered: it stops
    push = undefined;
    await within(closed, STOPS_WITHIN_MS, "DTLS close at the viewer");
    expect(server.registry.stream("cam")).toBeUndefined();
    await eventually(() => server!.viewers.size === 0, "the viewer to be closed");
  });

  test("DELETE a stream: a streamed push's HTTP request is answered at once, with its summary", async () => {
    server = await startTestServer({ ADMIN_TOKEN: TOKEN }, { listen: true });
    const bytes = readFixture("av.mpegts");
    let pulls = 0;
    // A push that never ends by itself: the fixture over and over, a chunk per pull.
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (pulls++ > 0) await new Promise((resolve) => setTimeout(resolve, 20));
        controller.enqueue(bytes.subarray(0, 188 * 200));
      },
    });
    const answered = fetch(`${server.url}/ingest/cam`, { method: "PUT", body, duplex: "half" } as RequestInit);
    await eventually(() => server!.registry.current("cam")?.programKnown === true, "the push to start");
    expect((await fetch(`${server.url}/api/streams/cam`, { method: "DELETE", headers: ADMIN })).status).toBe(200);
    const pushAnswer = await within(answered, 5000, "answer to the push");
    expect(pushAnswer.status).toBe(200);
    expect(await pushAnswer.json()).toMatchObject({ stream: "cam" });
    expect(server.registry.stream("cam")).toBeUndefined();
  });

  test("DELETE a stream published over WHIP: the publisher's session is closed", async () => {
    server = await startTestServer({ ADMIN_TOKEN: TOKEN }, { listen: true });
    const publisher = await whipPublish(`${server.url}/whip/cam`, unitsOf("av.mpegts"), { loops: 5 });
    peers.push(publisher);
    expect(publisher.response.status).toBe(201);
    const client = await play(server);
    const closed = dtlsClosed(client);
    expect((await fetch(`${server.url}/api/streams/cam`, { method: "DELETE", headers: ADMIN })).status).toBe(200);
    await within(closed, STOPS_WITHIN_MS, "DTLS close at the viewer");
    expect(server.registry.stream("cam")).toBeUndefined();
    // The WHIP session resource is gone with its publisher.
    const location = publisher.response.headers.get("Location")!;
    expect((await fetch(`${server.url}${location}`, { method: "DELETE" })).status).toBe(404);
  });
});

function unitsOf(file: string): AccessUnit[] {
  const demuxer = new TsDemuxer();
  return [...demuxer.push(readFixture(file)), ...demuxer.flush()].flatMap((e) => (e.type === "unit" ? [e.unit] : []));
}

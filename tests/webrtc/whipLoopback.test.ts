import { afterEach, describe, expect, test } from "bun:test";
import type { AccessUnit } from "../../lib/accessUnit.ts";
import { TsDemuxer } from "../../lib/mpegts/tsDemuxer.ts";
import { readFixture } from "../fixtures/readFixture.ts";
import { ffmpegPipelineCommand } from "../../bench/lib/pipelines/benchPipelines.ts";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";
import { whepPlay, type WhepTestClient } from "../helpers/wheriftClient.ts";
import { whipPublish, type WhipTestPublisher } from "../helpers/wheriftPublisher.ts";

function unitsOf(file: string): AccessUnit[] {
  const demuxer = new TsDemuxer();
  return [...demuxer.push(readFixture(file)), ...demuxer.flush()].flatMap((e) => (e.type === "unit" ? [e.unit] : []));
}

let server: TestServer | undefined;
const peers: Array<WhepTestClient | WhipTestPublisher> = [];
/**
 * Each test's publishers and viewers end their sessions with a DELETE (werift's close() sends no
 * goodbye the server could hear), then close their peer connections; then the leak check.
 */
afterEach(async () => {
  for (const peer of peers.splice(0)) {
    const location = peer.response.headers.get("Location");
    if (location) await fetch(`${server!.url}${location}`, { method: "DELETE" }); // 404 if the test ended it already
    await peer.close();
  }
  await checkAndClose(server);
  server = undefined;
});

describe("WHIP publisher -> Wisp -> WHEP viewer (werift, loopback)", () => {
  test("payloads arrive intact; the WHEP POST made right after the WHIP answer plays", async () => {
    server = await startTestServer({ WHEP_MAX_VIEWERS: "0" }, { listen: true });
    const publisher = await whipPublish(`${server.url}/whip/cam`, unitsOf("av.mpegts"), { loops: 3 });
    peers.push(publisher);
    expect(publisher.response.status).toBe(201);
    const playbackUrl = publisher.response.headers.get("Wisp-Playback-Url")!;
    expect(playbackUrl).toContain(`/whep/cam?requestId=${publisher.response.headers.get("Wisp-Request-Id")}`);
    const viewer = await whepPlay(playbackUrl);
    peers.push(viewer);
    expect(viewer.response.status).toBe(201);
    await viewer.until(() => viewer.video.length > 100 && viewer.audio.length > 30, 15_000);
    // The viewer starts at a keyframe: SPS/PPS STAP-A, then exactly what the publisher sent from there.
    expect(viewer.video[0]!.payload[0]! & 0x1f).toBe(24);
    const sent = publisher.sentVideo.map((p) => Buffer.from(p).toString("hex"));
    const got = viewer.video.map((p) => p.payload.toString("hex"));
    const start = sent.indexOf(got[1]!) - 1;
    expect(start).toBeGreaterThanOrEqual(0);
    const n = Math.min(80, sent.length - start);
    expect(got.slice(0, n)).toEqual(sent.slice(start, start + n));
    // Audio: 20 ms Opus packets, one per RTP packet.
    for (let i = 1; i < 20; i++) {
      expect((viewer.audio[i]!.header.timestamp - viewer.audio[i - 1]!.header.timestamp) >>> 0).toBe(960);
    }
  });

  test("through an ffmpeg command pipeline (?pipeline=): the viewer gets the publisher's pictures, processed", async () => {
    const pipelines = { copy: { command: ffmpegPipelineCommand(["-c", "copy"], `wisp-whip-${process.pid}`) } };
    server = await startTestServer({ PIPELINES: JSON.stringify(pipelines) }, { listen: true });
    const publisher = await whipPublish(`${server.url}/whip/cam?pipeline=copy`, unitsOf("av.mpegts"), { loops: 5 });
    peers.push(publisher);
    expect(publisher.response.status).toBe(201);
    const viewer = await whepPlay(publisher.response.headers.get("Wisp-Playback-Url")!);
    peers.push(viewer);
    expect(viewer.response.status).toBe(201);
    await viewer.until(() => viewer.video.length > 100 && viewer.audio.length > 30, 20_000);
    expect(server.registry.stream("cam")!.pipeline!.describe()).toMatchObject({ name: "copy", state: "running" });
    // ffmpeg remuxes but does not re-encode: the NAL units the publisher sent come out (a keyframe's FU-A run, say).
    const sent = new Set(publisher.sentVideo.map((p) => Buffer.from(p).toString("hex")));
    const same = viewer.video.filter((p) => sent.has(p.payload.toString("hex"))).length;
    expect(same).toBeGreaterThan(viewer.video.length / 2);
  });

  test("audio-only and video-only publishers", async () => {
    server = await startTestServer({ WHEP_MAX_VIEWERS: "0" }, { listen: true });
    const audioOnly = await whipPublish(`${server.url}/whip/a`, unitsOf("audio-only.mpegts"));
    const videoOnly = await whipPublish(`${server.url}/whip/v`, unitsOf("video-only.mpegts"));
    peers.push(audioOnly, videoOnly);
    const [a, v] = [await whepPlay(`${server.url}/whep/a`), await whepPlay(`${server.url}/whep/v`)];
    peers.push(a, v);
    await a.until(() => a.audio.length > 30);
    await v.until(() => v.video.length > 30);
    expect(a.video.length).toBe(0);
    expect(v.audio.length).toBe(0);
    const info = await (await fetch(`${server.url}/api/streams/v`)).json();
    expect(info.tracks.map((t: { codec: string }) => t.codec)).toEqual(["h264"]);
  });

  test("the publisher's DELETE ends the stream and its viewers", async () => {
    server = await startTestServer({ WHEP_MAX_VIEWERS: "0" }, { listen: true });
    const publisher = await whipPublish(`${server.url}/whip/cam`, unitsOf("av.mpegts"), { loops: 5 });
    peers.push(publisher);
    const viewer = await whepPlay(`${server.url}/whep/cam`);
    peers.push(viewer);
    await viewer.until(() => viewer.video.length > 10);
    const closed = new Promise<void>((resolve) => server!.viewers.list()[0]!.onClose(() => resolve()));
    const location = publisher.response.headers.get("Location")!;
    expect((await fetch(`${server.url}${location}`, { method: "DELETE" })).status).toBe(200);
    await closed;
    expect(server.registry.current("cam")).toBeUndefined();
    expect((await fetch(`${server.url}${location}`, { method: "DELETE" })).status).toBe(404);
  });
});

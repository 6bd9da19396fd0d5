import { afterEach, describe, expect, test } from "bun:test";
import { GenericNack, RtcpTransportLayerFeedback, type RtpPacket } from "werift";
import type { IngestSession } from "../../lib/ingest/ingestSession.ts";
import { trackChild } from "../helpers/children.ts";
import { feedRealtime } from "../helpers/feed.ts";
import { eventually } from "../helpers/eventually.ts";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";
import { whepPlay, type WhepTestClient } from "../helpers/wheriftClient.ts";
import { readFixture } from "../fixtures/readFixture.ts";
import { TsDemuxer } from "../../lib/mpegts/tsDemuxer.ts";
import { H264Packetizer } from "../../lib/rtp/h264Packetizer.ts";
import { MAX_RTP_PACKET_SIZE } from "../../lib/rtp/rtpPayload.ts";

// werift's DTLS record writer, not exported from the package: the test writes records with the client's keys.
import { createPlaintext } from "../../node_modules/werift/lib/dtls/src/record/builder.js";

interface WeriftDtlsSocket {
  dtls: { recordSequenceNumber: number };
  cipher: { encryptPacket(plaintext: unknown): { serialize(): Uint8Array } };
  transport: { send(data: Buffer): Promise<void> };
}

const AV = readFixture("av.mpegts"); // 2 s, H.264 GOP 30 at 30 fps + Opus

let server: TestServer | undefined;
const clients: WhepTestClient[] = [];
/** Streams a test started: ending them stops their feeds and closes their viewers, before the leak check. */
const sessions: IngestSession[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const session of sessions.splice(0)) session.end("finished");
  await checkAndClose(server);
  server = undefined;
});

/** Starts "cam" fed with `bytes` at real time; the feed stops when the session ends. */
function liveSession(s: TestServer, bytes: Uint8Array, options: { durationMs: number; loops: number }) {
  const session = s.registry.startSession("cam");
  sessions.push(session);
  const feed = feedRealtime(session, bytes, options);
  session.onEnd(() => feed.stop());
  return session;
}

async function liveServer(env: Record<string, string> = {}, source = { bytes: AV, durationMs: 2000 }) {
  server = await startTestServer({ WHEP_MAX_VIEWERS: "0", ...env }, { listen: true });
  return liveSession(server, source.bytes, { durationMs: source.durationMs, loops: 10 });
}

/** `n` werift viewers of /whep/cam in a child process (tests/helpers/viewerProcess.ts), all receiving. */
async function viewersInAnotherProcess(n: number) {
  const proc = trackChild(
    Bun.spawn([
      process.execPath,
      new URL("../helpers/viewerProcess.ts", import.meta.url).pathname,
      `${server!.url}/whep/cam`,
      String(n),
    ], {
      stdout: "pipe",
      stderr: "inherit",
    }),
  );
  const { value } = await proc.stdout.getReader().read();
  expect(new TextDecoder().decode(value)).toContain("ready");
  return proc;
}

/** A new viewer receives 150 video packets with no sequence gap. */
async function expectSurvivorGetsEveryPacket(): Promise<void> {
  const survivor = await play();
  await survivor.until(() => survivor.video.length > 150, 15_000);
  const seqs = survivor.video.map((p) => p.header.sequenceNumber);
  for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe((seqs[i - 1]! + 1) & 0xffff);
}

async function play(path = "/whep/cam") {
  const client = await whepPlay(`${server!.url}${path}`);
  clients.push(client);
  expect(client.response.status).toBe(201);
  return client;
}

/**
 * The RTP payloads our packetizer makes for the fixture's video, in order,
 * without the last picture: when the feed loops, the continuity-counter jump
 * makes the demuxer drop that picture (it cannot know it is whole).
 */
function expectedVideoPayloads(): Uint8Array[] {
  const packetizer = new H264Packetizer();
  const units: Uint8Array[][] = [];
  const demuxer = new TsDemuxer();
  for (const event of [...demuxer.push(AV), ...demuxer.flush()]) {
    if (event.type === "unit" && event.unit.track === "video") {
      units.push(packetizer.packetize(event.unit).map((p) => p.payload));
    }
  }
  return units.slice(0, -1).flat();
}

const nalType = (p: RtpPacket) => p.payload[0]! & 0x1f;

describe("WHEP over loopback with a werift viewer", () => {
  test("video starts at a keyframe (SPS/PPS STAP-A), payloads arrive intact and in order", async () => {
    await liveServer();
    const client = await play();
    await client.until(() => client.video.length > 150 && client.audio.length > 30);
    const video = client.video;
    expect(nalType(video[0]!)).toBe(24); // STAP-A with SPS + PPS before the IDR
    for (let i = 1; i < video.length; i++) {
      expect(video[i]!.header.sequenceNumber).toBe((video[i - 1]!.header.sequenceNumber + 1) & 0xffff);
    }
    for (const p of video) expect(p.serializeSize).toBeLessThanOrEqual(MAX_RTP_PACKET_SIZE);
    // Byte-exact against the packetizer's output for the same fixture, from the first keyframe on.
    const expected = expectedVideoPayloads();
    // The SPS/PPS STAP-A repeats at every keyframe: align on the IDR's first packet after it.
    const start = expected.findIndex((p) => Buffer.from(p).equals(video[1]!.payload)) - 1;
    expect(start).toBeGreaterThanOrEqual(0);
    const n = Math.min(100, expected.length - start);
    const mismatches = [];
    for (let i = 0; i < n; i++) if (!Buffer.from(expected[start + i]!).equals(video[i]!.payload)) mismatches.push(i);
    expect(mismatches).toEqual([]);
    // Opus: one packet per RTP payload, 20 ms apart at 48 kHz.
    const audio = client.audio;
    for (let i = 1; i < Math.min(20, audio.length); i++) {
      expect((audio[i]!.header.timestamp - audio[i - 1]!.header.timestamp) >>> 0).toBe(960);
    }
  });

  test("fast start: a mid-GOP joiner gets the GOP so far at once, timestamps squeezed before the live edge", async () => {
    // A 2 s GOP (60 frames): joining 15 frames in leaves 1.5 s for the handshake within the same GOP.
    const session = await liveServer({}, { bytes: readFixture("av-6s.mpegts"), durationMs: 6000 });
    // Wait until the stream is 15 frames past a keyframe.
    await new Promise<void>((resolve) => {
      let sinceKeyframe = -1;
      const feed = session.output.subscribe(1_000_000, {
        onReadable: () => {
          for (let next = feed.poll(); next; next = feed.poll()) {
            if (next.frame.track !== "video") continue;
            sinceKeyframe = next.frame.keyframe ? 0 : sinceKeyframe + 1;
            if (sinceKeyframe === 15) return feed.close(), resolve();
          }
        },
      });
    });
    const client = await play();
    await client.until(() => client.video.filter((p) => p.header.marker).length > 90);
    const markers = client.video.filter((p) => p.header.marker); // one per picture
    const steps = markers.slice(1, 90).map((p, i) => (p.header.timestamp - markers[i]!.header.timestamp) >>> 0);
    // The catch-up pictures sit 90 ticks (1 ms) apart, then live pictures 3000 (30 fps) apart.
    const catchUp = steps.findIndex((s) => s !== 90);
    expect(catchUp).toBeGreaterThanOrEqual(14);
    expect(catchUp).toBeLessThan(60);
    expect(steps.slice(catchUp + 1)).toEqual(new Array(steps.length - catchUp - 1).fill(3000));
    expect(client.video[0]!.payload[0]! & 0x1f).toBe(24); // it starts with SPS/PPS + the IDR
  });

  test("werift hands the connection over: media goes on without a gap, and NACKs are still answered", async () => {
    await liveServer();
    const client = await play();
    await client.until(() => client.video.length > 30);
    const viewer = server!.viewers.list()[0]!;
    // The werift client's first receiver report triggers the hand-over.
    await client.until(() => viewer.handedOver, 10_000);
    const atHandOver = client.video.length;
    await client.until(() => client.video.length > atHandOver + 100);
    const seqs = client.video.map((p) => p.header.sequenceNumber);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe((seqs[i - 1]! + 1) & 0xffff);

    // A NACK after the hand-over reaches the link, which resends the packet: the client sees it twice.
    const lost = client.video.at(-5)!;
    const dtls = client.pc.getTransceivers()[0]!.dtlsTransport!;
    const nack = new GenericNack({
      senderSsrc: 1,
      mediaSourceSsrc: lost.header.ssrc,
      lost: [lost.header.sequenceNumber],
    });
    await dtls.sendRtcp([new RtcpTransportLayerFeedback({ feedback: nack })]);
    const copies = () => client.video.filter((p) => p.header.sequenceNumber === lost.header.sequenceNumber).length;
    await client.until(() => copies() === 2, 5000);
    expect(viewer.connectionState).toBe("connected");
    const figures = (await (await fetch(`${server!.url}/api/streams/cam`)).json()) as {
      viewersHandedOver: number;
      retransmitted: number;
      viewerLinks: { rtcpIn: number };
    };
    expect(figures.viewersHandedOver).toBe(1);
    expect(figures.retransmitted).toBeGreaterThanOrEqual(1);
    expect(figures.viewerLinks.rtcpIn).toBeGreaterThanOrEqual(1); // the NACK at least, read by the link

    // Trickle PATCHes still get their answers: candidates change nothing now, an ICE restart is refused.
    const patch = (body: string) =>
      fetch(`${server!.url}${client.location}`, {
        method: "PATCH",
        headers: { "Content-Type": "application/trickle-ice-sdpfrag" },
        body,
      });
    expect((await patch("a=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\n")).status).toBe(204);
    expect((await patch("a=ice-ufrag:restart\r\na=ice-pwd:restartrestartrestartrestart\r\n")).status).toBe(422);
  });

  test("after the hand-over the viewer's DTLS alert ends the session at once; a forged one does not", async () => {
    await liveServer();
    const client = await play();
    const viewer = server!.viewers.list()[0]!;
    await client.until(() => viewer.handedOver, 10_000);
    // The werift client's DTLS session, to write records with its keys (werift itself never sends an alert).
    const dtls = (client.pc.getTransceivers()[0]!.dtlsTransport as unknown as { dtls: WeriftDtlsSocket }).dtls;
    const record = (contentType: number) => {
      const plaintext = createPlaintext(dtls.dtls as never)(
        [{ type: contentType, fragment: Buffer.from([1, 0]) }],
        ++dtls.dtls.recordSequenceNumber,
      )[0];
      return Buffer.from(dtls.cipher.encryptPacket(plaintext).serialize());
    };
    const forged = record(23); // application data, relabelled an alert: its tag no longer checks out
    forged[0] = 21;
    await dtls.transport.send(forged);
    await eventually(() => (viewer.linkStats()?.forgedAlerts ?? 0) >= 1, "the link to count the forged alert");
    expect(viewer.closed).toBe(false);
    const closed = new Promise((resolve) => viewer.onClose(resolve));
    await dtls.transport.send(record(21)); // close_notify (warning level 1, description 0)
    await closed;
    expect(viewer.closeReason).toBe("the viewer closed DTLS");
  });

  test("two viewers get their own SSRCs and sequence spaces for the same payloads", async () => {
    await liveServer();
    const [a, b] = [await play(), await play()];
    await Promise.all([a, b].map((c) => c.until(() => c.video.length > 50)));
    expect(a.video[0]!.header.ssrc).not.toBe(b.video[0]!.header.ssrc);
    expect(a.video[0]!.header.sequenceNumber).not.toBe(b.video[0]!.header.sequenceNumber);
    const aPayloads = a.video.map((p) => p.payload.toString("hex"));
    const firstOfB = aPayloads.indexOf(b.video[0]!.payload.toString("hex"));
    expect(firstOfB).toBeGreaterThanOrEqual(0);
  });

  test("DELETE stops the media and frees the place at once", async () => {
    await liveServer({ WHEP_MAX_VIEWERS: "1" });
    const client = await play();
    await client.until(() => client.video.length > 10);
    const del = await fetch(`${server!.url}${client.location}`, { method: "DELETE" });
    expect(del.status).toBe(200);
    expect(server!.registry.viewerCount("cam")).toBe(0);
    expect(server!.viewers.size).toBe(0);
    const again = await play();
    await again.until(() => again.video.length > 10);
  });

  test("the stream's end closes the viewer session and its peer connection", async () => {
    const session = await liveServer();
    const client = await play();
    await client.until(() => client.video.length > 10);
    const viewer = server!.viewers.list()[0]!;
    const closed = new Promise<void>((resolve) => viewer.onClose(() => resolve()));
    session.end("finished");
    await closed;
    expect(viewer.closeReason).toBe("stream ended (finished)");
    expect(viewer.connectionState).toBe("closed");
    expect(server!.viewers.size).toBe(0);
    expect(server!.registry.viewerCount("cam")).toBe(0);
  });

  test("a new push to the same name keeps the viewer: monotonic RTP across the switch", async () => {
    await liveServer();
    const client = await play();
    await client.until(() => client.video.length > 20);
    const before = client.video.length;
    liveSession(server!, AV, { durationMs: 2000, loops: 5 }); // takeover: the old session ends "replaced"
    await client.until(() => client.video.length > before + 60);
    const video = client.video;
    for (let i = 1; i < video.length; i++) {
      expect(video[i]!.header.sequenceNumber).toBe((video[i - 1]!.header.sequenceNumber + 1) & 0xffff);
      const step = (video[i]!.header.timestamp - video[i - 1]!.header.timestamp) >>> 0;
      expect(step).toBeLessThan(90_000); // never backwards (a wrap would be ~2^32)
    }
    expect(server!.viewers.size).toBe(1);
  });

  test("viewers that vanish without a goodbye do not disturb the server or others", async () => {
    await liveServer();
    const proc = await viewersInAnotherProcess(5);
    proc.kill("SIGKILL");
    await proc.exited;
    // Not one packet lost to the ICMP errors the departed viewers' ports send back to the shared socket.
    await expectSurvivorGetsEveryPacket();
    // The five departed viewers stay until consent freshness fails (~30 s); the server keeps serving.
    expect(server!.viewers.size).toBe(6);
  });

  test("a stuck viewer (its process stopped, its socket unread) costs the others nothing", async () => {
    await liveServer();
    const proc = await viewersInAnotherProcess(3);
    try {
      proc.kill("SIGSTOP"); // alive but reading nothing: its receive buffers fill, the kernel drops what we send it
      await expectSurvivorGetsEveryPacket();
      // The server never waited for the stuck viewers: nothing was skipped for anyone, nothing piles up.
      expect(server!.viewers.list("cam").reduce((sum, v) => sum + v.stats().droppedFrames, 0)).toBe(0);
      const { viewerQueuedFrames } = (await (await fetch(`${server!.url}/api/streams/cam`)).json()) as {
        viewerQueuedFrames: number;
      };
      expect(viewerQueuedFrames).toBeLessThan(10 * 4); // a frame or two per viewer, caught before their turn; waiting would pile up 80 a second
      expect(server!.viewers.size).toBe(4);
    } finally {
      proc.kill("SIGKILL");
      await proc.exited;
    }
  });
});

import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { RTCPeerConnection, SrtpSession } from "werift";
import { MediaClock, wallClockMs } from "../../lib/pipeline/mediaClock.ts";
import { msFromNtp, ntpNow } from "../../lib/rtp/ntpTime.ts";
import { frameSealingAvailable } from "../../lib/srtp/srtpFrameSealer.ts";
import { DirectRtpSender } from "../../lib/webrtc/directRtpSender.ts";
import type { Address } from "../../lib/udp/udpMux.ts";

// The direct send path reads these werift RTCRtpSender internals: fail loudly if an upgrade moves them.
test("werift's RTCRtpSender still has the internals DirectRtpSender uses", async () => {
  const pc = new RTCPeerConnection({ iceServers: [] });
  try {
    const sender = pc.addTransceiver("video", { direction: "sendonly" }).sender as unknown as Record<string, unknown>;
    expect(typeof sender.runRtcp).toBe("function");
    expect(typeof (sender.onGenericNack as { subscribe?: unknown }).subscribe).toBe("function");
    for (const field of ["ssrc", "packetCount", "octetCount", "rtpTimestamp", "ntpTimestamp", "stopped"]) {
      expect(field in sender).toBe(true);
    }
    const dtls = sender.dtlsTransport as Record<string, unknown>;
    expect("srtp" in dtls && "iceTransport" in dtls).toBe(true);
    const connection = (dtls.iceTransport as Record<string, unknown>).connection as Record<string, unknown>;
    expect("nominated" in connection).toBe(true);
  } finally {
    await pc.close();
  }
});

test("NTP timestamps: seconds since 1900 and an exact 32-bit fraction (werift's SR fraction is wrong)", () => {
  const ntp = ntpNow(Date.UTC(2026, 0, 1, 0, 0, 0, 500));
  expect(ntp >> 32n).toBe(BigInt(Date.UTC(2026, 0, 1) / 1000 + 2_208_988_800));
  expect(ntp & 0xffffffffn).toBe(2n ** 31n); // half a second
});

/** A stand-in for a connected werift sender (unit test only): real werift SRTP keys, a transport that records datagrams. */
function connectedSender(clockRate = 90000) {
  const master = { key: randomBytes(16), salt: randomBytes(12) };
  const peer = { key: randomBytes(16), salt: randomBytes(12) };
  const ours = new SrtpSession({ keys: { localMasterKey: master.key, localMasterSalt: master.salt, remoteMasterKey: peer.key, remoteMasterSalt: peer.salt }, profile: 7 } as never);
  const receiver = new SrtpSession({ keys: { localMasterKey: peer.key, localMasterSalt: peer.salt, remoteMasterKey: master.key, remoteMasterSalt: master.salt }, profile: 7 } as never);
  const queued: Buffer[] = [];
  const nackListeners: Array<(feedback: { lost: number[] }) => void> = [];
  const transport = {
    send: () => {},
    queueWith: (length: number, _addr: Address, write: (into: Uint8Array, at: number) => void) => {
      const into = Buffer.alloc(length + 7); // written at an offset, as into a batch's slab
      write(into, 7);
      queued.push(into.subarray(7));
    },
  };
  const sender = {
    ssrc: 1234, codec: { payloadType: 96, clockRate }, stopped: false, packetCount: 0, octetCount: 0, rtpTimestamp: 0, ntpTimestamp: 0n,
    runRtcp: async () => {},
    onGenericNack: { subscribe: (listener: (feedback: { lost: number[] }) => void) => nackListeners.push(listener) },
    dtlsTransport: { state: "connected", srtp: ours, iceTransport: { connection: { nominated: { protocol: { transport }, remoteAddr: ["127.0.0.1", 9] } } } },
  };
  const nack = (lost: number[]) => nackListeners.forEach((listener) => listener({ lost }));
  return { sender, receiver, queued, nack };
}

test("direct sends decrypt at the receiver, and a NACK resends the same bytes from the history", () => {
  const { sender, receiver, queued, nack } = connectedSender();
  const direct = new DirectRtpSender(sender as never, { historySize: 100 });
  const payloads = [randomBytes(1000), randomBytes(20), randomBytes(500)];
  const firstIndex = 0x10000 - 2; // crosses a sequence-number rollover: ROC 0 -> 1
  payloads.forEach((payload, i) => expect(direct.send(firstIndex + i, 9000, i === 2, payload)).toBe(true));
  expect(queued).toHaveLength(3);
  queued.forEach((datagram, i) => expect(Buffer.from(receiver.decrypt(datagram).subarray(12)).equals(payloads[i]!)).toBe(true));
  expect(sender.packetCount).toBe(3);
  expect(sender.octetCount).toBe(1520);

  nack([0xffff, 0, 4242]); // 4242 was never sent: ignored
  expect(direct.retransmitted).toBe(2);
  expect(queued[3]!.equals(queued[1]!)).toBe(true);
  expect(queued[4]!.equals(queued[2]!)).toBe(true);
});

test("the NACK history is bounded: packets older than it are not resent", () => {
  const { sender, queued, nack } = connectedSender();
  const direct = new DirectRtpSender(sender as never, { historySize: 4 });
  for (let index = 10; index < 20; index++) direct.send(index, 0, false, randomBytes(10));
  nack([12, 18]);
  expect(direct.retransmitted).toBe(1);
  expect(queued.at(-1)!.equals(queued[8]!)).toBe(true);
});

test("nothing is sent before DTLS is connected", () => {
  const { sender, queued } = connectedSender();
  sender.dtlsTransport.state = "connecting";
  expect(new DirectRtpSender(sender as never, { historySize: 0 }).send(1, 0, false, randomBytes(10))).toBe(false);
  expect(queued).toHaveLength(0);
});

/** The wall-clock ms a sender report says an RTP timestamp stands for (RFC 3550 6.4.1). */
function reportedTimeOf(sender: { rtpTimestamp: number; ntpTimestamp: bigint; codec: { clockRate: number } }, rtpTimestamp: number): number {
  const ntpMs = msFromNtp(sender.ntpTimestamp);
  const ticks = (rtpTimestamp - sender.rtpTimestamp) | 0; // signed 32-bit distance, across the wrap
  return ntpMs + (ticks / sender.codec.clockRate) * 1000;
}

test("sender reports put audio that arrived 70 ms late on the same clock as video: lip sync holds (RFC 3550 6.4.1)", () => {
  const clock = new MediaClock();
  const t0 = 1_700_000_000_000;
  const pts = 900_000; // the same instant in both tracks
  // Video arrives and is sent at t0; audio of the same PTS 70 ms later, as ffmpeg's packed PES brings it.
  const videoTime = clock.observe(pts, t0);
  const audioTime = clock.observe(pts, t0 + 70);
  const video = connectedSender(90000);
  const audio = connectedSender(48000);
  const [videoTs, audioTs] = [123_456_789, 3_000_000_000]; // each viewer track has its own random RTP offset
  new DirectRtpSender(video.sender as never, { historySize: 0, clock: () => t0 + 1 }).markSent(videoTs, videoTime);
  new DirectRtpSender(audio.sender as never, { historySize: 0, clock: () => t0 + 71 }).markSent(audioTs, audioTime);

  // Both reports say the frames of that PTS stand for the same instant: the media clock's.
  expect(reportedTimeOf(video.sender, videoTs)).toBeCloseTo(t0, 0);
  expect(reportedTimeOf(audio.sender, audioTs)).toBeCloseTo(t0, 0);
  // The NTP time is the time of the report ("now"), its RTP timestamp moved on to match.
  expect(reportedTimeOf(audio.sender, audio.sender.rtpTimestamp)).toBeCloseTo(t0 + 71, 0);
  expect((audio.sender.rtpTimestamp - audioTs) >>> 0).toBe(71 * 48);
});

/** A MediaLink that records what it is given, datagram by datagram; runs are taken whole, as the mux takes them. */
function recordingLink() {
  const throughLink: Uint8Array[] = [];
  let runs = 0;
  const link = {
    closed: false,
    queueWith(length: number, write: (into: Uint8Array, at: number) => void) {
      const into = new Uint8Array(length);
      write(into, 0);
      throughLink.push(into);
    },
    queueRun(lengths: Int32Array, bytes: number, write: (into: Uint8Array, at: number) => void) {
      const into = new Uint8Array(bytes + 3); // written at an offset, as into a batch's slab
      write(into, 3);
      let at = 3;
      for (const length of lengths) throughLink.push(into.subarray(at, (at += length)));
      runs++;
      return true;
    },
  };
  return { link, throughLink, runs: () => runs };
}

test("after handOver() packets go through the link with werift's SSRC and keys; reports and NACKs no longer need werift", () => {
  const { sender, receiver, queued } = connectedSender();
  const direct = new DirectRtpSender(sender as never, { historySize: 16, clock: () => 1_700_000_000_000 });
  direct.send(100, 9000, false, randomBytes(50));
  const { link, throughLink } = recordingLink();
  expect(direct.handOver(link)).toBe(true);
  expect(direct.handOver(link)).toBe(false); // once
  sender.dtlsTransport.state = "closed"; // werift is gone: nothing of it is read any more
  const payload = randomBytes(300);
  expect(direct.send(101, 12000, true, payload)).toBe(true);
  direct.markSent(12000, 1_700_000_000_000);
  expect(queued).toHaveLength(1); // only the packet before the hand-over took werift's route
  expect(throughLink).toHaveLength(1);
  const decrypted = receiver.decrypt(Buffer.from(throughLink[0]!));
  expect(decrypted.readUInt32BE(8)).toBe(1234); // werift's SSRC
  expect(Buffer.from(decrypted.subarray(12)).equals(payload)).toBe(true);
  expect(sender.packetCount).toBe(1); // werift's counters stopped at the hand-over ...
  expect(direct.senderReport()).toMatchObject({ ssrc: 1234, rtpTimestamp: 12000, ntpTimestamp: ntpNow(1_700_000_000_000), packetCount: 2, octetCount: 350 }); // ... ours go on
  direct.retransmit([100]);
  expect(throughLink).toHaveLength(2);
  link.closed = true;
  expect(direct.send(102, 15000, false, payload)).toBe(false);
});

describe("whole frames after the hand-over (lib/srtp/srtpFrameSealer.ts)", () => {
  const frame = (timestamp: number) =>
    [1172, 1172, 1, 0, 600].map((size, i, all) => ({ payload: randomBytes(size), timestamp, marker: i === all.length - 1 }));

  test.skipIf(!frameSealingAvailable())("one run per frame, byte for byte what packet-by-packet sealing makes, across a rollover", () => {
    const { sender, receiver } = connectedSender();
    const native = new DirectRtpSender(sender as never, { historySize: 16 });
    const perPacket = new DirectRtpSender(sender as never, { historySize: 16, nativeFrames: false });
    const a = recordingLink();
    const b = recordingLink();
    native.handOver(a.link);
    perPacket.handOver(b.link);
    const packets = frame(0xfffffff0);
    const firstIndex = 0xfffe; // sequence 65534: the frame crosses into rollover counter 1
    expect(native.sendFrame(packets, firstIndex, 0x20)).toBe(true);
    expect(perPacket.sendFrame(packets, firstIndex, 0x20)).toBe(false); // WEBRTC_NATIVE_SRTP=off: the caller goes packet by packet
    packets.forEach((p, i) => perPacket.send(firstIndex + i, (p.timestamp + 0x20) >>> 0, p.marker, p.payload));
    expect(a.runs()).toBe(1);
    expect(a.throughLink.map((d) => Buffer.from(d).toString("hex"))).toEqual(b.throughLink.map((d) => Buffer.from(d).toString("hex")));
    const first = a.throughLink[0]!;
    expect(Buffer.from(first).readUInt16BE(2)).toBe(0xfffe);
    expect(Buffer.from(first).readUInt32BE(4)).toBe(0x10); // (0xfffffff0 + 0x20) mod 2^32
    expect(Buffer.from(receiver.decrypt(Buffer.from(first)).subarray(12)).equals(packets[0]!.payload)).toBe(true);
    expect(native.senderReport()).toBeUndefined(); // no frame marked yet
    native.markSent(0x10, wallClockMs());
    expect(native.senderReport()).toMatchObject({ packetCount: 5, octetCount: 1172 + 1172 + 1 + 600 });
    // A NACK for the frame's third packet (sequence 0, ROC 1) resends its very bytes.
    native.retransmit([0]);
    expect(Buffer.from(a.throughLink.at(-1)!).equals(Buffer.from(a.throughLink[2]!))).toBe(true);
    expect(native.retransmitted).toBe(1);
  });
});

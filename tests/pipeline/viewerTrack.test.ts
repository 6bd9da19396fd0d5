import { expect, test } from "bun:test";
import { MediaClock } from "../../lib/pipeline/mediaClock.ts";
import { type RtpSink, type TrackCounters, ViewerTrack } from "../../lib/pipeline/viewerTrack.ts";
import { msFromNtp, ntpNow } from "../../lib/rtp/ntpTime.ts";
import type { SenderReportFields } from "../../lib/rtp/rtcpPackets.ts";
import type { RtpPayload } from "../../lib/rtp/rtpPayload.ts";

interface Sent {
  index: number;
  timestamp: number;
  marker: boolean;
  payload: Uint8Array;
  asFrame: boolean;
}

/** A sink that records every packet, taking whole frames only while `frames` is on, sending nothing while `ready` is off. */
function recordingSink() {
  const sent: Sent[] = [];
  const counted: TrackCounters[] = [];
  const sink = {
    frames: true as boolean,
    ready: true as boolean,
    send(index: number, timestamp: number, marker: boolean, payload: Uint8Array) {
      if (!sink.ready) return false;
      sent.push({ index, timestamp, marker, payload, asFrame: false });
      return true;
    },
    sendFrame(packets: RtpPayload[], firstIndex: number, timestampAdd: number) {
      if (!sink.frames || !sink.ready) return false;
      packets.forEach((p, i) =>
        sent.push({
          index: firstIndex + i,
          timestamp: (p.timestamp + timestampAdd) >>> 0,
          marker: p.marker,
          payload: p.payload,
          asFrame: true,
        })
      );
      return true;
    },
    counted(counters: Readonly<TrackCounters>) {
      counted.push({ ...counters });
    },
  } satisfies RtpSink & { frames: boolean; ready: boolean };
  return { sink, sent, counted };
}

const frame = (timestamp: number, count = 3, size = 10): RtpPayload[] =>
  Array.from(
    { length: count },
    (_, i) => ({ payload: new Uint8Array(size).fill(i), timestamp, marker: i === count - 1 }),
  );

const VIDEO = { ssrc: 1234, clockRate: 90_000, frameStep: 3000, historySize: 16 };

test("whole frames and packet-by-packet sends continue one numbering and one timeline", () => {
  const { sink, sent } = recordingSink();
  const track = new ViewerTrack(sink, VIDEO);
  track.send(frame(0xfffff000), 0, 1);
  sink.frames = false;
  track.send(frame(0xfffff000 + 3000), 0, 2);
  sink.frames = true;
  track.send(frame(0xfffff000 + 6000), 0, 3);

  expect(sent.map((s) => s.asFrame)).toEqual([true, true, true, false, false, false, true, true, true]);
  sent.forEach((s, i) => expect(s.index).toBe(sent[0]!.index + i));
  expect(sent[0]!.index).toBeLessThan(0x10000); // RFC 3550 5.1: a random first sequence number, rollover counter 0
  const offset = (sent[0]!.timestamp - 0xfffff000) >>> 0;
  expect(sent.map((s) => (s.timestamp - offset) >>> 0)).toEqual(
    [0, 0, 0, 3000, 3000, 3000, 6000, 6000, 6000].map((t) => (0xfffff000 + t) >>> 0),
  );
  expect(sent.filter((s) => s.marker).length).toBe(3);
  expect(track.packetsSent).toBe(9);
});

test("after a rebase the next frame, sent whole, is one frame step after the last, with a fast-start shift on top", () => {
  const { sink, sent } = recordingSink();
  let now = 1_000_000;
  const track = new ViewerTrack(sink, { ...VIDEO, clock: () => now });
  track.send(frame(5000), 0);
  const last = sent.at(-1)!;
  track.rebase();
  now += 10; // less than a frame's time passed: the next frame is one frame step on
  track.send(frame(123_456_789), 0); // a new session's clock
  expect(sent.at(-1)!.timestamp).toBe((last.timestamp + 3000) >>> 0);
  expect(sent.at(-1)!.index).toBe(last.index + 3);
  track.send(frame(123_456_789 + 3000), 90);
  expect(sent.at(-1)!.timestamp).toBe((last.timestamp + 6000 + 90) >>> 0);
});

test("after a rebase following a gap, the timeline advances by the time that passed (the browser stays live)", () => {
  const { sink, sent } = recordingSink();
  let now = 1_000_000;
  const track = new ViewerTrack(sink, { ...VIDEO, clock: () => now });
  track.send(frame(5000), 0);
  const last = sent.at(-1)!;
  track.rebase();
  now += 1500; // a pipeline restart: 1.5 s without frames
  track.send(frame(42), 0);
  expect(sent.at(-1)!.timestamp).toBe((last.timestamp + 1.5 * 90_000) >>> 0);
});

test("after a rebase onto a fast-start GOP, its first frame (shifted toward the live edge) is the one placed now", () => {
  const { sink, sent } = recordingSink();
  let now = 1_000_000;
  const track = new ViewerTrack(sink, { ...VIDEO, clock: () => now });
  track.send(frame(5000), 0);
  const last = sent.at(-1)!;
  track.rebase();
  now += 800;
  // The new output's GOP so far: its keyframe is 0.5 s old, squeezed to just before the newest frame.
  track.send(frame(900_000), 45_000 - 90);
  expect(sent.at(-1)!.timestamp).toBe((last.timestamp + 0.8 * 90_000) >>> 0);
  track.send(frame(900_000 + 45_000), 0); // the live edge: right after it, not half a second ahead
  expect(sent.at(-1)!.timestamp).toBe((last.timestamp + 0.8 * 90_000 + 90) >>> 0);
});

test("packets the sink cannot send yet are dropped, their numbers used up; the counters count what went out", () => {
  const { sink, sent, counted } = recordingSink();
  const track = new ViewerTrack(sink, VIDEO);
  sink.ready = false;
  track.send(frame(0), 0, 10);
  sink.ready = true;
  track.send(frame(3000, 2, 7), 0, 20);
  expect(sent).toHaveLength(2);
  expect(track.packetsSent).toBe(2);
  const last = counted.at(-1)!;
  expect(last).toMatchObject({
    lastIndex: sent[1]!.index,
    lastTimestamp: sent[1]!.timestamp,
    packetCount: 2,
    octetCount: 14,
    marked: true,
  });
  expect(counted[0]).toMatchObject({ packetCount: 0, octetCount: 0 });
});

test("a NACK resends from the history under the same index; unknown and too old sequence numbers are skipped (RFC 4585 6.2.1)", () => {
  const { sink, sent } = recordingSink();
  const track = new ViewerTrack(sink, { ...VIDEO, historySize: 4 });
  for (let i = 0; i < 10; i++) track.send(frame(i * 3000, 1));
  const seq = (s: Sent) => s.index & 0xffff;
  track.retransmit([seq(sent[2]!), seq(sent[8]!), (seq(sent[9]!) + 100) & 0xffff]); // too old, held, never sent
  expect(track.retransmitted).toBe(1);
  expect(sent.at(-1)).toEqual({ ...sent[8]!, asFrame: false });
  expect(track.packetsSent).toBe(10); // a retransmission is no new packet
});

test("no history without NACK (audio): nothing is resent", () => {
  const { sink, sent } = recordingSink();
  const track = new ViewerTrack(sink, { ...VIDEO, historySize: 0 });
  track.send(frame(0, 1));
  track.retransmit([sent[0]!.index & 0xffff]);
  expect(track.retransmitted).toBe(0);
});

test("useSink: packets and retransmissions go to the new sink with the numbering going on; undefined stops the track", () => {
  const before = recordingSink();
  const after = recordingSink();
  const track = new ViewerTrack(before.sink, VIDEO);
  track.send(frame(0, 2));
  track.useSink(after.sink);
  track.send(frame(3000, 2));
  track.retransmit([before.sent[1]!.index & 0xffff]);
  expect(after.sent.map((s) => s.index)).toEqual([
    before.sent[1]!.index + 1,
    before.sent[1]!.index + 2,
    before.sent[1]!.index,
  ]);
  track.useSink(undefined);
  track.send(frame(6000, 2));
  expect(after.sent).toHaveLength(3);
});

/** The wall-clock ms a sender report says an RTP timestamp stands for (RFC 3550 6.4.1). */
function reportedTimeOf(report: SenderReportFields, clockRate: number, rtpTimestamp: number): number {
  const ticks = (rtpTimestamp - report.rtpTimestamp) | 0; // signed 32-bit distance, across the wrap
  return msFromNtp(report.ntpTimestamp) + (ticks / clockRate) * 1000;
}

test("sender reports put audio that arrived 70 ms late on the same clock as video: lip sync holds (RFC 3550 6.4.1)", () => {
  const clock = new MediaClock();
  const t0 = 1_700_000_000_000;
  const pts = 900_000; // the same instant in both tracks
  // Video arrives and is sent at t0; audio of the same PTS 70 ms later, as ffmpeg's packed PES brings it.
  const videoTime = clock.observe(pts, t0);
  const audioTime = clock.observe(pts, t0 + 70);
  const video = new ViewerTrack(recordingSink().sink, { ...VIDEO, clock: () => t0 + 1 });
  const audio = new ViewerTrack(recordingSink().sink, {
    ssrc: 99,
    clockRate: 48_000,
    frameStep: 960,
    historySize: 0,
    clock: () => t0 + 71,
  });
  expect(video.senderReport()).toBeUndefined(); // nothing live sent yet
  video.send(frame(123_456), 0, videoTime);
  audio.send(frame(3_000_000_000, 1), 0, audioTime);
  const videoReport = video.senderReport()!;
  const audioReport = audio.senderReport()!;
  expect(videoReport).toMatchObject({ ssrc: 1234, packetCount: 3, octetCount: 30 });

  // Each viewer track has its own random RTP offset: what matters is what the report says its frame's timestamp stands for.
  const sentVideo = (videoReport.rtpTimestamp - 90) >>> 0; // 1 ms before the report at 90 kHz
  const sentAudio = (audioReport.rtpTimestamp - 71 * 48) >>> 0; // 71 ms before it at 48 kHz
  expect(reportedTimeOf(videoReport, 90_000, sentVideo)).toBeCloseTo(t0, 0);
  expect(reportedTimeOf(audioReport, 48_000, sentAudio)).toBeCloseTo(t0, 0);
  // The NTP time is the time of the report ("now").
  expect(audioReport.ntpTimestamp).toBe(ntpNow(t0 + 71));
});

test("fast-start frames (no media time) move no report; a live frame after them does", () => {
  const track = new ViewerTrack(recordingSink().sink, { ...VIDEO, clock: () => 1_000_000 });
  track.send(frame(0), 2910); // fast start: shifted, off the media clock
  expect(track.senderReport()).toBeUndefined();
  track.send(frame(3000), 0, 1_000_000);
  expect(track.senderReport()).toMatchObject({ packetCount: 6, ntpTimestamp: ntpNow(1_000_000) });
});

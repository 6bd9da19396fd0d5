import { expect, test } from "bun:test";
import type { RtpPayload } from "../../lib/rtp/rtpPayload.ts";
import type { RtpSendPath } from "../../lib/webrtc/directRtpSender.ts";
import { OutgoingTrack } from "../../lib/webrtc/outgoingTrack.ts";

/** A send path that records every packet's index and timestamp, taking whole frames only while `frames` is on. */
function recordingPath() {
  const sent: Array<{ index: number; timestamp: number; marker: boolean; asFrame: boolean }> = [];
  const marked: number[] = [];
  const path = {
    frames: true as boolean,
    send(index: number, timestamp: number, marker: boolean) {
      sent.push({ index, timestamp, marker, asFrame: false });
      return true;
    },
    sendFrame(packets: RtpPayload[], firstIndex: number, timestampAdd: number) {
      if (!path.frames) return false;
      packets.forEach((p, i) => sent.push({ index: firstIndex + i, timestamp: (p.timestamp + timestampAdd) >>> 0, marker: p.marker, asFrame: true }));
      return true;
    },
    markSent(timestamp: number) {
      marked.push(timestamp);
    },
  } satisfies RtpSendPath & { frames: boolean };
  return { path, sent, marked };
}

const frame = (timestamp: number, count = 3): RtpPayload[] =>
  Array.from({ length: count }, (_, i) => ({ payload: new Uint8Array(10), timestamp, marker: i === count - 1 }));

test("whole frames and packet-by-packet sends continue one numbering and one timeline", () => {
  const { path, sent, marked } = recordingPath();
  const track = new OutgoingTrack(path, 3000);
  track.send(frame(0xfffff000), 0, 1);
  path.frames = false;
  track.send(frame(0xfffff000 + 3000), 0, 2);
  path.frames = true;
  track.send(frame(0xfffff000 + 6000), 0, 3);

  expect(sent.map((s) => s.asFrame)).toEqual([true, true, true, false, false, false, true, true, true]);
  sent.forEach((s, i) => expect(s.index).toBe(sent[0]!.index + i));
  const offset = (sent[0]!.timestamp - 0xfffff000) >>> 0;
  expect(sent.map((s) => (s.timestamp - offset) >>> 0)).toEqual([0, 0, 0, 3000, 3000, 3000, 6000, 6000, 6000].map((t) => (0xfffff000 + t) >>> 0));
  expect(sent.filter((s) => s.marker).length).toBe(3);
  expect(marked).toEqual([sent[2]!.timestamp, sent[5]!.timestamp, sent[8]!.timestamp]);
  expect(track.packetsSent).toBe(9);
});

test("after a rebase the next frame, sent whole, is one frame step after the last, with a catch-up shift on top", () => {
  const { path, sent } = recordingPath();
  const track = new OutgoingTrack(path, 3000);
  track.send(frame(5000), 0);
  const last = sent.at(-1)!;
  track.rebase();
  track.send(frame(123_456_789), 0); // a new session's clock
  expect(sent.at(-1)!.timestamp).toBe((last.timestamp + 3000) >>> 0);
  expect(sent.at(-1)!.index).toBe(last.index + 3);
  track.send(frame(123_456_789 + 3000), 90);
  expect(sent.at(-1)!.timestamp).toBe((last.timestamp + 6000 + 90) >>> 0);
});

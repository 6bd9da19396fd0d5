import { describe, expect, test } from "bun:test";
import { isRtp, RtpSequenceCount } from "../../../bench/lib/rtpSequenceCount.ts";

/** A 12-byte RTP header (RFC 3550 5.1) with `seq` and `ssrc`, and a payload byte. */
function rtp(seq: number, ssrc = 0x11223344, payloadType = 96): Uint8Array {
  const packet = new Uint8Array(13);
  const view = new DataView(packet.buffer);
  packet[0] = 0x80;
  packet[1] = payloadType;
  view.setUint16(2, seq & 0xffff);
  view.setUint32(8, ssrc);
  return packet;
}

describe("RtpSequenceCount (the fan-out bench's load viewers)", () => {
  test("counts packets and the sequence numbers never seen", () => {
    const count = new RtpSequenceCount();
    for (const seq of [10, 11, 12, 15, 16, 20]) count.count(rtp(seq));
    expect(count.packets).toBe(6);
    expect(count.lost).toBe(2 + 3);
  });

  test("tracks the rollover counter through a wrap, across a gap, per SSRC (RFC 3711 3.3.1)", () => {
    const count = new RtpSequenceCount();
    expect(count.count(rtp(65533))).toBe(0);
    expect(count.count(rtp(65535))).toBe(0);
    expect(count.count(rtp(1))).toBe(1); // 0 lost on the way
    expect(count.lost).toBe(2);
    expect(count.count(rtp(7, 0xdeadbeef))).toBe(0); // another source starts its own
    for (let seq = 2; seq < 65536 + 5; seq++) count.count(rtp(seq));
    expect(count.count(rtp(5))).toBe(2);
    expect(count.lost).toBe(2);
  });

  test("a late packet from before the wrap gets the old ROC and counts as no loss", () => {
    const count = new RtpSequenceCount();
    count.count(rtp(65534));
    count.count(rtp(0));
    expect(count.count(rtp(65535))).toBe(0);
    expect(count.count(rtp(1))).toBe(1);
    expect(count.lost).toBe(1); // 65535 was counted missing when 0 came; it came late
  });

  test("reset starts the window and keeps the rollover state", () => {
    const count = new RtpSequenceCount();
    count.count(rtp(65535));
    count.count(rtp(3));
    count.reset();
    expect([count.packets, count.lost]).toEqual([0, 0]);
    expect(count.count(rtp(4))).toBe(1);
  });

  test("isRtp tells RTP from RTCP (RFC 5761 4) and from STUN or DTLS", () => {
    expect(isRtp(rtp(1))).toBe(true);
    expect(isRtp(rtp(1, 1, 96 | 0x80))).toBe(true); // marker set
    expect(isRtp(rtp(1, 1, 200))).toBe(false); // sender report
    expect(isRtp(rtp(1, 1, 205))).toBe(false); // transport-layer feedback
    expect(isRtp(new Uint8Array([0x00, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42, 0, 0, 0, 0]))).toBe(false); // STUN
    expect(isRtp(new Uint8Array([22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0]))).toBe(false); // DTLS handshake
  });
});

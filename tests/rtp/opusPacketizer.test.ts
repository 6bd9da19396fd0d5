import { describe, expect, test } from "bun:test";
import { type AudioAccessUnit, PTS_WRAP } from "../../lib/accessUnit.ts";
import { OpusPacketizer } from "../../lib/rtp/opusPacketizer.ts";

const U32 = 2 ** 32;

function opus(pts: number, payload = Uint8Array.of(0xfc, 0xff, 0xfe, 0x01)): AudioAccessUnit {
  return { track: "audio", pid: 257, pts, samples: 960, payload };
}

describe("OpusPacketizer (RFC 7587)", () => {
  test("one RTP payload per Opus packet: the same bytes, not a copy, marker clear", () => {
    const payload = Uint8Array.of(0xfc, 1, 2, 3);
    const packets = new OpusPacketizer().packetize(opus(1800, payload));
    expect(packets).toEqual([{ payload, marker: false, timestamp: 960 }]);
    expect(packets[0]!.payload).toBe(payload); // identity: shared, never copied
    expect(Buffer.from(payload).toString("hex")).toBe("fc010203"); // and not modified
  });

  test("a subarray of a PES buffer is passed through as that subarray", () => {
    const pes = Uint8Array.of(0x7f, 0xe0, 4, 0xfc, 9, 8, 7, 0x7f, 0xe0);
    const payload = pes.subarray(3, 7);
    const [packet] = new OpusPacketizer().packetize(opus(0, payload));
    expect(packet!.payload).toBe(payload);
    expect(packet!.payload.byteOffset).toBe(3);
  });

  test("20 ms packets across the 33-bit PTS wrap stay 960 apart, marker always clear", () => {
    const packetizer = new OpusPacketizer();
    const packets = Array.from(
      { length: 8 },
      (_, i) => packetizer.packetize(opus((PTS_WRAP - 1800 * 4 + 1800 * i) % PTS_WRAP))[0]!,
    );
    const steps = packets.slice(1).map((p, i) => (p.timestamp - packets[i]!.timestamp + U32) % U32);
    expect(steps).toEqual(Array(7).fill(960));
    expect(packets.every((p) => !p.marker)).toBe(true);
  });
});

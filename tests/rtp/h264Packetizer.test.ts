import { describe, expect, test } from "bun:test";
import type { VideoAccessUnit } from "../../lib/accessUnit.ts";
import { H264Packetizer } from "../../lib/rtp/h264Packetizer.ts";
import { MAX_RTP_PAYLOAD_SIZE } from "../../lib/rtp/rtpPayload.ts";
import { seededRandom } from "../helpers/random.ts";

const SPS = Uint8Array.of(0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01);
const PPS = Uint8Array.of(0x68, 0xce, 0x3c, 0x80);
const AUD = Uint8Array.of(0x09, 0xf0);
const FILLER = Uint8Array.of(0x0c, 0xff, 0xff);
const SEI = Uint8Array.of(0x06, 0x05, 0x01, 0x00);

function nal(header: number, size: number, seed = 1): Uint8Array {
  const random = seededRandom(seed);
  const out = new Uint8Array(size).map(() => Math.floor(random() * 256));
  out[0] = header;
  return out;
}

function unit(nalus: Uint8Array[], keyframe: boolean, pts = 90_000): VideoAccessUnit {
  return { track: "video", pid: 256, pts, dts: pts, keyframe, nalus };
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** RFC 6184 5.8 reassembly of FU-A fragments back into one NAL unit. */
function reassemble(payloads: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let current: number[] = [];
  for (const p of payloads) {
    const type = p[0]! & 0x1f;
    if (type !== 28) {
      out.push(p);
      continue;
    }
    if (p[1]! & 0x80) current = [(p[0]! & 0xe0) | (p[1]! & 0x1f)];
    current.push(...p.subarray(2));
    if (p[1]! & 0x40) out.push(Uint8Array.from(current));
  }
  return out;
}

describe("H264Packetizer (RFC 6184)", () => {
  test("a small NAL is one single-NAL packet with the marker, timestamp from the PTS", () => {
    const slice = nal(0x41, 100);
    const packets = new H264Packetizer().packetize(unit([AUD, slice], false, 123_456));
    expect(packets).toEqual([{ payload: slice, marker: true, timestamp: 123_456 }]);
  });

  test("keyframe: SPS+PPS as one STAP-A, byte-exact, then the IDR", () => {
    const idr = nal(0x65, 50);
    const packets = new H264Packetizer().packetize(unit([AUD, SPS, PPS, idr], true));
    expect(packets.map((p) => hex(p.payload))).toEqual([
      // STAP-A: F=0 NRI=max(3,3) type 24 | size 6 | SPS | size 4 | PPS
      "78" + "0006" + hex(SPS) + "0004" + hex(PPS),
      hex(idr),
    ]);
    expect(packets.map((p) => p.marker)).toEqual([false, true]);
  });

  test("SPS/PPS seen once are sent again before every later IDR", () => {
    const packetizer = new H264Packetizer();
    packetizer.packetize(unit([SPS, PPS, nal(0x65, 20)], true));
    packetizer.packetize(unit([nal(0x41, 20)], false));
    const later = packetizer.packetize(unit([nal(0x65, 20, 2)], true));
    expect(later[0]!.payload[0]! & 0x1f).toBe(24);
    expect(hex(later[0]!.payload)).toContain(hex(SPS));
  });

  test("AUD and filler are dropped, SEI kept", () => {
    const slice = nal(0x41, 30);
    const packets = new H264Packetizer().packetize(unit([AUD, SEI, slice, FILLER], false));
    expect(packets.map((p) => hex(p.payload))).toEqual([hex(SEI), hex(slice)]);
  });

  test("a 3000-byte NAL becomes FU-A fragments with exact headers and equal sizes", () => {
    const big = nal(0x65, 3000);
    const packets = new H264Packetizer({ maxPayloadSize: 1000 }).packetize(unit([big], false));
    // 2999 body bytes over ceil(2999 / 998) = 4 fragments of 750, 750, 750, 749
    expect(packets.map((p) => p.payload.length)).toEqual([752, 752, 752, 751]);
    expect(packets.map((p) => p.payload[0])).toEqual([0x7c, 0x7c, 0x7c, 0x7c]); // NRI 3 | 28
    expect(packets.map((p) => p.payload[1])).toEqual([0x85, 0x05, 0x05, 0x45]); // S|5, 5, 5, E|5
    expect(packets.map((p) => p.marker)).toEqual([false, false, false, true]);
    expect(hex(reassemble(packets.map((p) => p.payload))[0]!)).toBe(hex(big));
  });

  test("property: random NAL sizes never exceed the budget and reassemble exactly", () => {
    const random = seededRandom(99);
    const packetizer = new H264Packetizer();
    for (let round = 0; round < 200; round++) {
      const nalus = Array.from({ length: 1 + Math.floor(random() * 5) }, (_, i) =>
        nal(0x41, 2 + Math.floor(random() * 5000), round * 10 + i),
      );
      const packets = packetizer.packetize(unit(nalus, false, round * 3000));
      for (const p of packets) expect(p.payload.length).toBeLessThanOrEqual(MAX_RTP_PAYLOAD_SIZE);
      expect(packets.filter((p) => p.marker).length).toBe(1);
      expect(packets.at(-1)!.marker).toBe(true);
      expect(reassemble(packets.map((p) => p.payload)).map(hex)).toEqual(nalus.map(hex));
    }
  });

  test("an access unit of only an AUD yields no packets", () => {
    expect(new H264Packetizer().packetize(unit([AUD], false))).toEqual([]);
  });
});

import { describe, expect, test } from "bun:test";
import type { VideoAccessUnit } from "../../lib/accessUnit.ts";
import { type H264PacketizeError, H264Packetizer } from "../../lib/rtp/h264Packetizer.ts";
import { MAX_RTP_PAYLOAD_SIZE, type RtpPayload } from "../../lib/rtp/rtpPayload.ts";
import { seededRandom } from "../../bench/lib/random.ts";

// Hand-built NAL units (no start codes). Header byte: F | NRI | type.
const SPS = Uint8Array.of(0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01); // NRI 3, type 7 (Baseline, level 3.1)
const PPS = Uint8Array.of(0x68, 0xce, 0x3c, 0x80); // NRI 3, type 8
const SPS_720P = Uint8Array.of(0x67, 0x42, 0xc0, 0x1f, 0xda, 0x02, 0x80); // a later, different SPS
const AUD = Uint8Array.of(0x09, 0xf0); // type 9
const FILLER = Uint8Array.of(0x0c, 0xff, 0xff, 0x80); // type 12
const SEI = Uint8Array.of(0x06, 0x05, 0x01, 0x00, 0x80); // NRI 0, type 6

/** A NAL unit with the given header byte and seeded random body bytes. */
function nal(header: number, size: number, seed = 1): Uint8Array {
  const random = seededRandom(seed);
  const out = Uint8Array.from({ length: size }, () => Math.floor(random() * 256));
  out[0] = header;
  return out;
}

function unit(nalus: Uint8Array[], keyframe: boolean, pts = 90_000): VideoAccessUnit {
  return { track: "video", pid: 256, pts, dts: pts, keyframe, nalus };
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

/**
 * Receiver side of RFC 6184 mode 1, strict: single NAL units (5.6), STAP-A
 * (5.7.1) and FU-A (5.8) back to NAL units; throws on any malformed fragment run.
 */
function depacketize(payloads: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let fragment: number[] | undefined;
  for (const p of payloads) {
    const type = p[0]! & 0x1f;
    if (type !== 28 && fragment) throw new Error("FU-A run interrupted before its E bit");
    if (type === 24) {
      for (let i = 1; i < p.length;) {
        const size = (p[i]! << 8) | p[i + 1]!;
        out.push(p.subarray(i + 2, i + 2 + size));
        i += 2 + size;
      }
    } else if (type === 28) {
      const [indicator, header] = [p[0]!, p[1]!];
      if (header & 0x20) throw new Error("FU header R bit set");
      if (header & 0x80) {
        if (fragment) throw new Error("FU-A start inside a run");
        fragment = [(indicator & 0xe0) | (header & 0x1f)];
      } else if (!fragment) throw new Error("FU-A continuation without a start");
      fragment.push(...p.subarray(2));
      if (header & 0x40) {
        out.push(Uint8Array.from(fragment));
        fragment = undefined;
      }
    } else {
      out.push(p);
    }
  }
  if (fragment) throw new Error("FU-A run without an E bit");
  return out;
}

describe("H264Packetizer: single NAL unit packets (RFC 6184 5.6)", () => {
  test("a small NAL unit is one packet, the payload is the NAL unit itself, with the marker", () => {
    const slice = nal(0x41, 100);
    const packets = new H264Packetizer().packetize(unit([slice], false, 123_456));
    expect(packets).toEqual([{ payload: slice, marker: true, timestamp: 123_456 }]);
  });

  test("AUD and filler data are dropped; SEI and slices are kept in order", () => {
    const slice = nal(0x41, 30);
    const packets = new H264Packetizer().packetize(unit([AUD, SEI, slice, FILLER], false));
    expect(packets.map((p) => hex(p.payload))).toEqual([hex(SEI), hex(slice)]);
    expect(packets.map((p) => p.marker)).toEqual([false, true]);
  });

  test("an access unit of only an AUD (or nothing) yields no packets", () => {
    const packetizer = new H264Packetizer();
    expect(packetizer.packetize(unit([AUD], false))).toEqual([]);
    expect(packetizer.packetize(unit([AUD, FILLER], false))).toEqual([]);
    expect(packetizer.packetize(unit([], false))).toEqual([]);
  });

  test("a NAL unit of exactly the budget is a single packet; one byte more makes two FU-A", () => {
    const packetizer = new H264Packetizer({ maxPayloadSize: 100 });
    expect(packetizer.packetize(unit([nal(0x41, 100)], false)).map((p) => p.payload.length)).toEqual([100]);
    // 100 body bytes over 2 fragments of 50: 52-byte payloads.
    expect(packetizer.packetize(unit([nal(0x41, 101)], false)).map((p) => p.payload.length)).toEqual([52, 52]);
  });
});

describe("H264Packetizer: SPS/PPS before every IDR (RFC 6184 5.7.1 STAP-A)", () => {
  test("keyframe: SPS+PPS as one STAP-A, byte-exact, then SEI and the IDR", () => {
    const idr = nal(0x65, 50);
    const packets = new H264Packetizer().packetize(unit([AUD, SPS, PPS, SEI, idr], true, 3000));
    expect(packets.map((p) => hex(p.payload))).toEqual([
      // STAP-A: F=0 NRI=max(3,3)=3 type 24 -> 0x78 | size 6 | SPS | size 4 | PPS
      "78" + "0006" + hex(SPS) + "0004" + hex(PPS),
      hex(SEI),
      hex(idr),
    ]);
    expect(packets.map((p) => p.marker)).toEqual([false, false, true]);
    expect(packets.map((p) => p.timestamp)).toEqual([3000, 3000, 3000]);
  });

  const headerCases: Array<{ name: string; sps: number; pps: number; stap: number }> = [
    { name: "NRI is the largest of the aggregated units", sps: 0x27, pps: 0x48, stap: 0x58 }, // NRI 1, 2 -> 2
    { name: "NRI 0 stays 0", sps: 0x07, pps: 0x08, stap: 0x18 },
    { name: "F is set if any aggregated unit has it", sps: 0xe7, pps: 0x08, stap: 0xf8 },
  ];
  for (const c of headerCases) {
    test(`STAP-A header: ${c.name}`, () => {
      const sps = Uint8Array.of(c.sps, 0x42, 0x00);
      const pps = Uint8Array.of(c.pps, 0xce);
      const [stap] = new H264Packetizer().packetize(unit([sps, pps, nal(0x65, 10)], true));
      expect(hex(stap!.payload)).toBe(c.stap.toString(16) + "0003" + hex(sps) + "0002" + hex(pps));
    });
  }

  test("STAP-A size fields are 16-bit big-endian (a 300-byte SPS)", () => {
    const sps = nal(0x67, 300);
    const [stap] = new H264Packetizer().packetize(unit([sps, PPS, nal(0x65, 10)], true));
    expect(hex(stap!.payload)).toBe("78" + "012c" + hex(sps) + "0004" + hex(PPS));
  });

  test("SPS/PPS seen once are cached and sent before every later IDR, not before P-frames", () => {
    const packetizer = new H264Packetizer();
    packetizer.packetize(unit([SPS, PPS, nal(0x65, 20)], true));
    const pFrame = nal(0x41, 20);
    expect(packetizer.packetize(unit([AUD, pFrame], false)).map((p) => hex(p.payload))).toEqual([hex(pFrame)]);
    const idr = nal(0x65, 20, 2);
    const later = packetizer.packetize(unit([AUD, idr], true));
    expect(later.map((p) => hex(p.payload))).toEqual(["78" + "0006" + hex(SPS) + "0004" + hex(PPS), hex(idr)]);
  });

  test("the cached copy survives the caller reusing the SPS buffer", () => {
    const packetizer = new H264Packetizer();
    const sps = SPS.slice();
    packetizer.packetize(unit([sps, PPS, nal(0x65, 20)], true));
    sps.fill(0xee); // e.g. the demuxer's PES buffer reused
    const [stap] = packetizer.packetize(unit([nal(0x65, 20)], true));
    expect(hex(stap!.payload)).toBe("78" + "0006" + hex(SPS) + "0004" + hex(PPS));
  });

  test("an access unit's own SPS/PPS are used, each sent once, and replace the cache", () => {
    const packetizer = new H264Packetizer();
    packetizer.packetize(unit([SPS, PPS, nal(0x65, 20)], true));
    const idr = nal(0x65, 30);
    const withNew = packetizer.packetize(unit([AUD, SPS_720P, PPS, idr], true));
    expect(withNew.map((p) => hex(p.payload))).toEqual(["78" + "0007" + hex(SPS_720P) + "0004" + hex(PPS), hex(idr)]);
    const [stap] = packetizer.packetize(unit([nal(0x65, 20)], true));
    expect(hex(stap!.payload)).toContain(hex(SPS_720P));
  });

  test("an IDR carrying only an SPS gets the cached PPS", () => {
    const packetizer = new H264Packetizer();
    packetizer.packetize(unit([SPS, PPS, nal(0x65, 20)], true));
    const [stap] = packetizer.packetize(unit([SPS_720P, nal(0x65, 20)], true));
    expect(hex(stap!.payload)).toBe("78" + "0007" + hex(SPS_720P) + "0004" + hex(PPS));
  });

  test("all parameter sets of the access unit go into the STAP-A (two PPS)", () => {
    const pps2 = Uint8Array.of(0x68, 0xde, 0x3c, 0x80, 0x01);
    const [stap] = new H264Packetizer().packetize(unit([SPS, PPS, pps2, nal(0x65, 20)], true));
    expect(hex(stap!.payload)).toBe("78" + "0006" + hex(SPS) + "0004" + hex(PPS) + "0005" + hex(pps2));
  });

  test("SPS/PPS in a non-IDR access unit are sent where they are, as single NAL units", () => {
    const slice = nal(0x41, 20);
    const packets = new H264Packetizer().packetize(unit([SPS, PPS, slice], false));
    expect(packets.map((p) => hex(p.payload))).toEqual([hex(SPS), hex(PPS), hex(slice)]);
  });

  test("a STAP-A of exactly the budget is sent; one byte less and they go as single NAL units", () => {
    const stapSize = 1 + 2 + SPS.length + 2 + PPS.length; // 15
    const idr = nal(0x65, 8);
    const fits = new H264Packetizer({ maxPayloadSize: stapSize }).packetize(unit([SPS, PPS, idr], true));
    expect(fits.map((p) => p.payload.length)).toEqual([stapSize, idr.length]);
    const split = new H264Packetizer({ maxPayloadSize: stapSize - 1 }).packetize(unit([SPS, PPS, idr], true));
    expect(split.map((p) => hex(p.payload))).toEqual([hex(SPS), hex(PPS), hex(idr)]);
    expect(split.map((p) => p.marker)).toEqual([false, false, true]);
  });
});

describe("H264Packetizer: FU-A (RFC 6184 5.8)", () => {
  const big = nal(0x65, 3000);

  test("a 3000-byte IDR NAL at the default budget: 3 fragments with exact headers and sizes", () => {
    const packets = new H264Packetizer().packetize(unit([big], false, 7));
    // 2999 body bytes over ceil(2999 / (1172 - 2)) = 3 fragments: 1000, 1000, 999
    expect(packets.map((p) => p.payload.length)).toEqual([1002, 1002, 1001]);
    expect(packets.map((p) => p.payload[0])).toEqual([0x7c, 0x7c, 0x7c]); // F=0 NRI=3 type 28
    expect(packets.map((p) => p.payload[1])).toEqual([0x85, 0x05, 0x45]); // S|5, 5, E|5
    expect(hex(packets[0]!.payload.subarray(2))).toBe(hex(big.subarray(1, 1001))); // header byte not repeated
    expect(hex(packets[2]!.payload.subarray(2))).toBe(hex(big.subarray(2001)));
    expect(packets.map((p) => p.marker)).toEqual([false, false, true]);
    expect(packets.map((p) => p.timestamp)).toEqual([7, 7, 7]);
    expect(depacketize(packets.map((p) => p.payload)).map(hex)).toEqual([hex(big)]);
  });

  test("with a 1000-byte budget: 4 fragments of 750, 750, 750, 749 body bytes", () => {
    const packets = new H264Packetizer({ maxPayloadSize: 1000 }).packetize(unit([big], false));
    expect(packets.map((p) => p.payload.length)).toEqual([752, 752, 752, 751]);
    expect(packets.map((p) => p.payload[1])).toEqual([0x85, 0x05, 0x05, 0x45]);
    expect(depacketize(packets.map((p) => p.payload)).map(hex)).toEqual([hex(big)]);
  });

  test("the FU indicator keeps F and NRI, the FU header the type (non-IDR, NRI 1, F set)", () => {
    const packets = new H264Packetizer({ maxPayloadSize: 10 }).packetize(unit([nal(0xa1, 20)], false));
    expect(packets.map((p) => hex(p.payload.subarray(0, 2)))).toEqual(["bc81", "bc01", "bc41"]);
  });

  test("the marker is only on the last packet of the access unit (RFC 6184 5.1)", () => {
    const packets = new H264Packetizer().packetize(unit([AUD, SPS, PPS, SEI, big, nal(0x65, 2500, 3)], true));
    expect(packets.length).toBe(1 + 1 + 3 + 3);
    expect(packets.map((p) => p.marker)).toEqual([false, false, false, false, false, false, false, true]);
  });

  test("smallest budget (3): one body byte per fragment", () => {
    const nalu = Uint8Array.of(0x41, 1, 2, 3);
    const packets = new H264Packetizer({ maxPayloadSize: 3 }).packetize(unit([nalu], false));
    expect(packets.map((p) => hex(p.payload))).toEqual(["5c8101", "5c0102", "5c4103"]);
  });
});

describe("H264Packetizer: properties over random access units (seeded)", () => {
  /**
   * A random access unit and the NAL units a receiver should get back. The
   * first keyframe always carries SPS/PPS; later ones only sometimes.
   */
  function randomUnit(random: () => number, round: number, state: { sentSets: boolean }) {
    const keyframe = random() < 0.3;
    const slices = Array.from(
      { length: 1 + Math.floor(random() * 4) },
      (_, i) => nal(keyframe ? 0x65 : 0x41, 1 + Math.floor(random() * 6000), round * 10 + i),
    );
    const withSets = keyframe && (!state.sentSets || random() < 0.5);
    state.sentSets ||= withSets;
    const au = unit([AUD, ...(withSets ? [SPS, PPS] : []), ...slices], keyframe, round * 3000);
    return { au, expected: keyframe ? [SPS, PPS, ...slices] : slices };
  }

  /** Payload sizes of each FU-A run (S .. E). */
  function fuRuns(packets: RtpPayload[]): number[][] {
    const runs: number[][] = [];
    for (const p of packets) {
      if ((p.payload[0]! & 0x1f) !== 28) continue;
      if (p.payload[1]! & 0x80) runs.push([]);
      runs.at(-1)!.push(p.payload.length);
    }
    return runs;
  }

  /** All fragments but the last the same size (one UDP GSO run); the last no larger, and short by fewer bytes than there are fragments. */
  function expectBalancedGsoRun(run: number[]): void {
    const full = run[0]!;
    expect(run.slice(0, -1).every((size) => size === full)).toBe(true);
    expect(run.at(-1)!).toBeLessThanOrEqual(full);
    expect(full - run.at(-1)!).toBeLessThan(run.length);
  }

  function check(maxPayloadSize: number, seed: number, rounds: number): void {
    const random = seededRandom(seed);
    const packetizer = new H264Packetizer({ maxPayloadSize });
    const state = { sentSets: false };
    for (let round = 0; round < rounds; round++) {
      const { au, expected } = randomUnit(random, round, state);
      const packets = packetizer.packetize(au);
      for (const p of packets) expect(p.payload.length).toBeLessThanOrEqual(maxPayloadSize);
      expect(packets.map((p) => p.marker)).toEqual(packets.map((_, i) => i === packets.length - 1));
      expect(new Set(packets.map((p) => p.timestamp))).toEqual(new Set([au.pts]));
      expect(depacketize(packets.map((p) => p.payload)).map(hex)).toEqual(expected.map(hex));
      for (const run of fuRuns(packets)) expectBalancedGsoRun(run);
    }
    expect(packetizer.decodeErrors).toBe(0);
  }

  test("default budget: no payload exceeds MAX_RTP_PAYLOAD_SIZE and all reassemble exactly", () => {
    check(MAX_RTP_PAYLOAD_SIZE, 99, 150);
  });

  test("random budgets from 3 to 1500 bytes", () => {
    const random = seededRandom(7);
    for (let i = 0; i < 12; i++) check(3 + Math.floor(random() * 1498), 1000 + i, 8);
  });
});

describe("H264Packetizer: problems are counted and reported, packetizing goes on", () => {
  test("an IDR with no SPS/PPS ever seen is sent, and reported", () => {
    const errors: H264PacketizeError[] = [];
    const packetizer = new H264Packetizer({ onDecodeError: (e) => errors.push(e) });
    const idr = nal(0x65, 20);
    expect(packetizer.packetize(unit([idr], true, 42)).map((p) => hex(p.payload))).toEqual([hex(idr)]);
    expect(errors).toEqual([{
      kind: "no-parameter-sets",
      message: expect.stringContaining("pts 42 sent without SPS and PPS"),
    }]);
    expect(packetizer.decodeErrors).toBe(1);
  });

  test("an IDR with only a PPS known reports the missing SPS and sends the PPS alone", () => {
    const errors: H264PacketizeError[] = [];
    const packetizer = new H264Packetizer({ onDecodeError: (e) => errors.push(e) });
    const idr = nal(0x65, 20);
    expect(packetizer.packetize(unit([PPS, idr], true)).map((p) => hex(p.payload))).toEqual([hex(PPS), hex(idr)]);
    expect(errors.map((e) => e.message)).toEqual([expect.stringContaining("without SPS:")]);
  });

  test("empty NAL units and types 0 / 24-31 are dropped and reported", () => {
    const errors: H264PacketizeError[] = [];
    const packetizer = new H264Packetizer({ onDecodeError: (e) => errors.push(e) });
    const slice = nal(0x41, 20);
    const odd = [
      new Uint8Array(0),
      Uint8Array.of(0x00, 1),
      Uint8Array.of(0x78, 1),
      Uint8Array.of(0x1c, 1),
      Uint8Array.of(0x1f, 1),
    ];
    const packets = packetizer.packetize(unit([...odd, slice], false));
    expect(packets.map((p) => hex(p.payload))).toEqual([hex(slice)]);
    expect(errors.map((e) => e.kind)).toEqual([
      "empty-nal",
      "unsendable-nal-type",
      "unsendable-nal-type",
      "unsendable-nal-type",
      "unsendable-nal-type",
    ]);
    expect(errors[2]!.message).toContain("type 24");
    expect(packetizer.decodeErrors).toBe(5);
  });

  test("a budget too small for FU-A is refused up front", () => {
    expect(() => new H264Packetizer({ maxPayloadSize: 2 })).toThrow(/maxPayloadSize must be an integer >= 3.*got 2/);
    expect(() => new H264Packetizer({ maxPayloadSize: 100.5 })).toThrow(RangeError);
  });

  test("input NAL units are never modified", () => {
    const idr = nal(0x65, 5000);
    const before = hex(idr);
    new H264Packetizer().packetize(unit([SPS, PPS, idr], true));
    expect(hex(idr)).toBe(before);
    expect(hex(SPS)).toBe("6742c01fda01");
  });
});

describe("H264Packetizer: timestamps", () => {
  test("every packet of an access unit carries the PTS truncated to 32 bits", () => {
    const packets = new H264Packetizer().packetize(unit([SPS, PPS, nal(0x65, 3000)], true, 2 ** 33 - 1));
    expect(packets.length).toBe(4);
    for (const p of packets) expect(p.timestamp).toBe(2 ** 32 - 1);
  });
});

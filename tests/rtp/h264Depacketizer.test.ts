import { describe, expect, test } from "bun:test";
import { RtpHeader, RtpPacket } from "werift";
import type { VideoAccessUnit } from "../../lib/accessUnit.ts";
import { H264Depacketizer, type H264DepacketizerOptions } from "../../lib/rtp/h264Depacketizer.ts";
import { JitterBuffer, type RtpItem } from "../../lib/rtp/jitterBuffer.ts";
import { RtpClock } from "../../lib/rtp/rtpClock.ts";
import { seededRandom } from "../../bench/lib/random.ts";

let nextSeq = 0;
function rtp(timestamp: number, payload: number[] | Uint8Array, marker = false): RtpPacket {
  const header = new RtpHeader({ sequenceNumber: nextSeq++ & 0xffff, timestamp, marker, payloadType: 96 });
  return new RtpPacket(header, Buffer.from(payload));
}

// NAL units without start codes. Header byte: F | NRI | type.
const SPS = [0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01];
const PPS = [0x68, 0xce, 0x3c, 0x80];
const IDR = [0x65, 0x88, 0x84, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const P_SLICE = [0x41, 0x9a, 0x02, 0x03];
const SEI = [0x06, 0x05, 0x01, 0x00, 0x80];

/** STAP-A (RFC 6184 5.7.1): header byte 0x78 (NRI 3, type 24), then 16-bit size + NAL unit pairs. */
const stapA = (...nalus: number[][]) => [0x78, ...nalus.flatMap((n) => [n.length >> 8, n.length & 0xff, ...n])];
/** FU-A fragment of `nalu` (RFC 6184 5.8): indicator keeps F|NRI, header carries S/E and the type. */
function fuA(nalu: number[], from: number, to: number): number[] {
  const start = from === 1 ? 0x80 : 0;
  const end = to >= nalu.length ? 0x40 : 0;
  return [(nalu[0]! & 0xe0) | 28, start | end | (nalu[0]! & 0x1f), ...nalu.slice(from, to)];
}

interface Harness {
  d: H264Depacketizer;
  reasons: string[];
  errors: string[];
  run: (items: RtpItem[]) => VideoAccessUnit[];
}

function harness(options: H264DepacketizerOptions = {}): Harness {
  const reasons: string[] = [];
  const errors: string[] = [];
  const d = new H264Depacketizer(new RtpClock(90_000), {
    onKeyframeNeeded: (r) => reasons.push(r),
    onDecodeError: (e) => errors.push(e),
    ...options,
  });
  return { d, reasons, errors, run: (items) => items.flatMap((item) => d.push(item)) };
}

const bytes = (unit: VideoAccessUnit | undefined) => unit?.nalus.map((n) => [...n]);

describe("H264Depacketizer packet types (RFC 6184)", () => {
  test("single NAL unit packet (5.6) -> one access unit with the NAL unit", () => {
    const { run } = harness();
    const [unit, ...rest] = run([rtp(1000, IDR, true)]);
    expect(rest).toEqual([]);
    expect(unit).toEqual({ track: "video", pid: 0, pts: 0, dts: 0, keyframe: true, nalus: [Uint8Array.from(IDR)] });
  });

  test("STAP-A (SPS + PPS, 5.7.1) + FU-A IDR in three fragments (5.8) -> one keyframe with the exact NAL units", () => {
    const { run, reasons, errors } = harness();
    const units = run([
      rtp(3000, stapA(SPS, PPS)),
      rtp(3000, fuA(IDR, 1, 5)),
      rtp(3000, fuA(IDR, 5, 9)),
      rtp(3000, fuA(IDR, 9, IDR.length), true),
    ]);
    expect(units.length).toBe(1);
    expect(units[0]!.keyframe).toBe(true);
    expect(bytes(units[0])).toEqual([SPS, PPS, IDR]);
    expect([reasons, errors]).toEqual([[], []]);
  });

  test("AUD/SEI and several slices of one picture are kept in order", () => {
    const { run } = harness();
    const slice2 = [0x65, 0xb8, 0x40, 7];
    const units = run([rtp(0, [0x09, 0xf0]), rtp(0, stapA(SEI, SPS, PPS)), rtp(0, IDR), rtp(0, slice2, true)]);
    expect(bytes(units[0])).toEqual([[0x09, 0xf0], SEI, SPS, PPS, IDR, slice2]);
  });

  test("a non-IDR picture is not a keyframe; pts = dts from the 90 kHz RTP timestamp", () => {
    const { run } = harness();
    const units = run([
      rtp(90_000, IDR, true),
      rtp(93_000, P_SLICE, true),
      rtp(96_000, fuA(P_SLICE, 1, 2)),
      rtp(96_000, fuA(P_SLICE, 2, 4), true),
    ]);
    expect(units.map((u) => [u.keyframe, u.pts, u.dts])).toEqual([
      [true, 0, 0],
      [false, 3000, 3000],
      [false, 6000, 6000],
    ]);
    expect(bytes(units[2])).toEqual([P_SLICE]);
  });

  test("a padding-only packet (empty payload) is skipped without breaking the picture", () => {
    const { run, reasons } = harness();
    const units = run([rtp(0, stapA(SPS, PPS)), rtp(0, []), rtp(0, IDR, true), rtp(0, []), rtp(3000, P_SLICE, true)]);
    expect(units.map((u) => u.keyframe)).toEqual([true, false]);
    expect(reasons).toEqual([]);
  });
});

describe("H264Depacketizer access unit boundaries", () => {
  test("the marker bit ends an access unit at once", () => {
    const { run } = harness();
    expect(run([rtp(0, stapA(SPS, PPS))])).toEqual([]);
    expect(run([rtp(0, IDR, true)]).length).toBe(1);
  });

  test("a timestamp change ends an access unit that had no marker", () => {
    const { run } = harness();
    expect(run([rtp(0, stapA(SPS, PPS)), rtp(0, IDR)])).toEqual([]);
    const [first] = run([rtp(3000, P_SLICE)]);
    expect(bytes(first)).toEqual([SPS, PPS, IDR]);
    expect(first!.pts).toBe(0);
    const [second] = run([rtp(6000, P_SLICE)]);
    expect(bytes(second)).toEqual([P_SLICE]);
    expect(second!.pts).toBe(3000);
  });
});

describe("H264Depacketizer loss", () => {
  test("a lost FU-A fragment drops the picture, asks for a keyframe, drops later pictures until an IDR", () => {
    const { d, run, reasons, errors } = harness();
    expect(run([rtp(0, IDR, true)]).length).toBe(1);
    const units = run([
      rtp(3000, fuA(P_SLICE, 1, 2)),
      { gap: 1 },
      rtp(3000, fuA(P_SLICE, 3, 4), true),
      rtp(6000, P_SLICE, true), // depends on the lost picture
      rtp(9000, P_SLICE, true),
      rtp(12_000, stapA(SPS, PPS)),
      rtp(12_000, IDR, true),
      rtp(15_000, P_SLICE, true),
    ]);
    expect(units.map((u) => [u.pts, u.keyframe])).toEqual([
      [12_000, true],
      [15_000, false],
    ]);
    expect(bytes(units[0])).toEqual([SPS, PPS, IDR]);
    expect(reasons).toEqual(["1 RTP packet(s) lost"]);
    expect(errors).toEqual([]); // loss is not a decode error
    expect(d.stats).toEqual({ accessUnits: 3, droppedPictures: 3, malformed: 0, keyframeRequests: 1 });
  });

  test("an FU-A missing its start (no gap reported) drops the picture and counts a decode error", () => {
    const { run, reasons, errors } = harness();
    run([rtp(0, IDR, true)]);
    const units = run([rtp(3000, fuA(IDR, 5, 9)), rtp(3000, fuA(IDR, 9, IDR.length), true), rtp(6000, P_SLICE, true)]);
    expect(units).toEqual([]);
    expect(errors).toEqual(["FU-A fragment without its start"]);
    expect(reasons).toEqual(["FU-A fragment without its start"]);
  });

  test("an FU-A missing its end (the next picture begins) drops the picture", () => {
    const { run, reasons } = harness();
    run([rtp(0, IDR, true)]);
    expect(run([rtp(3000, fuA(P_SLICE, 1, 2)), rtp(6000, P_SLICE, true)])).toEqual([]);
    expect(reasons).toEqual(["a fragmented NAL unit ended without its last FU-A"]);
  });

  test("a gap between pictures breaks the next picture (its start may be lost), even an IDR", () => {
    const { run, reasons } = harness();
    run([rtp(0, IDR, true)]);
    expect(run([{ gap: 2 }, rtp(6000, IDR, true)])).toEqual([]);
    expect(reasons).toEqual(["2 RTP packet(s) lost"]);
    expect(run([rtp(9000, IDR, true)]).length).toBe(1);
  });

  test("a gap that took a picture's end and the next picture's start breaks both", () => {
    const { run } = harness();
    run([rtp(0, IDR, true)]);
    // lost: the end of picture 3000 and the STAP-A (SPS, PPS) opening keyframe 6000
    expect(run([rtp(3000, fuA(P_SLICE, 1, 2)), { gap: 2 }, rtp(6000, IDR, true)])).toEqual([]);
    expect(run([rtp(9000, stapA(SPS, PPS)), rtp(9000, IDR, true)]).map((u) => u.pts)).toEqual([9000]);
  });

  test("a gap followed by more of the same picture breaks only that picture", () => {
    const { run } = harness();
    run([rtp(0, IDR, true)]);
    const units = run([
      rtp(3000, fuA(IDR, 1, 4)),
      { gap: 1 },
      rtp(3000, fuA(IDR, 8, IDR.length), true),
      rtp(6000, IDR, true),
    ]);
    expect(units.map((u) => u.pts)).toEqual([6000]);
  });

  test("a sequence restart (gap 0) counts as loss", () => {
    const { run, reasons } = harness();
    run([rtp(0, IDR, true)]);
    expect(run([{ gap: 0 }, rtp(3000, P_SLICE, true)])).toEqual([]);
    expect(reasons).toEqual(["the RTP sequence number restarted"]);
  });

  test("pictures before the first IDR are dropped; a keyframe is asked for at once, then every 500 ms of media", () => {
    const { d, run, reasons } = harness();
    const pictures = Array.from({ length: 31 }, (_, i) => rtp(i * 3000, P_SLICE, true)); // 1 s at 30 fps
    expect(run(pictures)).toEqual([]);
    expect(reasons.length).toBe(3); // at 0, 500 and 1000 ms
    expect(d.stats.droppedPictures).toBe(31);
    expect(run([rtp(93_000, IDR, true), rtp(96_000, P_SLICE, true)]).length).toBe(2);
  });

  test("while broken, further loss does not repeat the request within keyframeRetryMs", () => {
    const { run, reasons } = harness({ keyframeRetryMs: 100 });
    run([rtp(0, IDR, true)]);
    run([{ gap: 1 }, rtp(3000, P_SLICE, true), { gap: 1 }, rtp(6000, P_SLICE, true)]);
    expect(reasons.length).toBe(1);
    run([{ gap: 1 }, rtp(9000, P_SLICE, true)]); // 9000 - 0 = 100 ms after the request
    expect(reasons.length).toBe(2);
  });
});

describe("H264Depacketizer malformed payloads", () => {
  const cases: Array<{ name: string; payload: number[]; error: string }> = [
    {
      name: "STAP-A size past the end",
      payload: [0x78, 0, 9, 0x67, 1],
      error: "STAP-A unit of 9 bytes at offset 3 of 5 does not fit the payload",
    },
    {
      name: "STAP-A zero size",
      payload: [0x78, 0, 0],
      error: "STAP-A unit of 0 bytes at offset 3 of 3 does not fit the payload",
    },
    {
      name: "STAP-A truncated size field",
      payload: [0x78, 0, 1, 0x67, 0],
      error: "STAP-A ends inside a size field at offset 4 of 5",
    },
    { name: "STAP-A without units", payload: [0x78], error: "STAP-A without any NAL unit" },
    { name: "FU-A without fragment", payload: [0x7c, 0x85], error: "FU-A of 2 bytes carries no fragment" },
    {
      name: "STAP-B",
      payload: [0x79, 0, 0, 0, 1, 0x65],
      error: "packet type 25 is not allowed in packetization-mode 1 (single NAL unit 1-23, STAP-A 24, FU-A 28)",
    },
    {
      name: "FU-B",
      payload: [0x7d, 0x85, 0, 0, 1],
      error: "packet type 29 is not allowed in packetization-mode 1 (single NAL unit 1-23, STAP-A 24, FU-A 28)",
    },
    {
      name: "NAL type 0",
      payload: [0x00, 1],
      error: "packet type 0 is not allowed in packetization-mode 1 (single NAL unit 1-23, STAP-A 24, FU-A 28)",
    },
  ];
  for (const { name, payload, error } of cases) {
    test(`${name}: reported, picture dropped, keyframe asked for`, () => {
      const { d, run, reasons, errors } = harness();
      run([rtp(0, IDR, true)]);
      expect(run([rtp(3000, payload, true), rtp(6000, P_SLICE, true)])).toEqual([]);
      expect(errors).toEqual([error]);
      expect(reasons).toEqual([error]);
      expect(d.stats.malformed).toBe(1);
    });
  }

  test("an FU-A start while another FU-A is open is an error", () => {
    const { run, errors } = harness();
    expect(run([rtp(0, fuA(IDR, 1, 4)), rtp(0, fuA(IDR, 1, 4)), rtp(0, fuA(IDR, 4, IDR.length), true)])).toEqual([]);
    expect(errors).toEqual(["FU-A start while an earlier fragmented NAL unit was still open"]);
  });

  test("an FU-A whose NAL unit header changes between fragments is an error", () => {
    const { run, errors } = harness();
    const otherType = fuA(P_SLICE, 2, 4); // type 1 where the open fragment is type 5
    expect(run([rtp(0, fuA(IDR, 1, 4)), rtp(0, otherType, true)])).toEqual([]);
    expect(errors).toEqual(["FU-A NAL unit header changed from 0x65 to 0x41 mid-fragment"]);
  });
});

/** A picture of the round-trip test: NAL units and whether they start with an IDR. */
function makePictures(count: number, random: () => number): VideoAccessUnit[] {
  return Array.from({ length: count }, (_, i) => {
    const keyframe = i % 10 === 0;
    const slice = Uint8Array.from({ length: 1 + Math.floor(random() * 400) }, () => Math.floor(random() * 256));
    slice[0] = keyframe ? 0x65 : 0x41;
    const nalus = keyframe ? [Uint8Array.from(SPS), Uint8Array.from(PPS), slice] : [slice];
    return { track: "video", pid: 0, pts: i * 3000, dts: i * 3000, keyframe, nalus };
  });
}

/** A small RFC 6184 mode-1 packetizer for the tests: STAP-A for SPS+PPS, FU-A above `mtu`. */
function packetize(unit: VideoAccessUnit, mtu: number): RtpPacket[] {
  const payloads: number[][] = [];
  const nalus = unit.nalus.map((n) => [...n]);
  if (unit.keyframe) payloads.push(stapA(nalus.shift()!, nalus.shift()!));
  for (const nalu of nalus) {
    if (nalu.length <= mtu) payloads.push(nalu);
    else {
      const step = mtu - 2; // FU indicator + FU header
      for (let from = 1; from < nalu.length; from += step) payloads.push(fuA(nalu, from, from + step));
    }
  }
  return payloads.map((p, i) => rtp(unit.pts, p, i === payloads.length - 1));
}

/** Shuffles so that no element moves more than `window - 1` places; the first stays first. */
function shuffleWithin<T>(items: T[], window: number, random: () => number): T[] {
  const rest = items.slice(1).map((item, i) => ({ item, key: i + random() * window }));
  return [items[0]!, ...rest.sort((a, b) => a.key - b.key).map(({ item }) => item)];
}

describe("H264Depacketizer behind a JitterBuffer (round trip)", () => {
  for (const seed of [1, 2, 3]) {
    test(`reordered and duplicated packets -> the exact access units (seed ${seed})`, () => {
      const random = seededRandom(seed);
      const pictures = makePictures(60, random);
      const packets = pictures.flatMap((p) => packetize(p, 20 + Math.floor(random() * 100)));
      const arrival = shuffleWithin(packets.flatMap((p, i) => (i > 0 && random() < 0.05 ? [p, p] : [p])), 15, random);
      const jb = new JitterBuffer();
      const { run, reasons } = harness();
      const units = [...arrival.flatMap((p) => run(jb.push(p))), ...run(jb.flush())];
      expect(units).toEqual(pictures);
      expect(reasons).toEqual([]);
    });

    test(`random loss -> only intact pictures, a keyframe first after each loss (seed ${seed})`, () => {
      const random = seededRandom(100 + seed);
      const pictures = makePictures(150, random);
      const packets = pictures.map((p) => packetize(p, 60));
      const lost = packets.map((ps, k) => ps.map((_, i) => (k > 0 || i > 0) && random() < 0.02));
      const lostPts = pictures.filter((_, k) => lost[k]!.includes(true)).map((p) => p.pts);
      let now = 0;
      const jb = new JitterBuffer({ maxWaitMs: 5, now: () => now });
      const { run, reasons } = harness();
      const units: VideoAccessUnit[] = [];
      packets.forEach((ps, k) =>
        ps.forEach((p, i) => {
          now++;
          units.push(...run(jb.poll()));
          if (!lost[k]![i]) units.push(...run(jb.push(p)));
        })
      );
      units.push(...run(jb.flush()));
      let previous = -1;
      for (const unit of units) {
        expect(unit).toEqual(pictures[unit.pts / 3000]!); // never a corrupted picture
        if (lostPts.some((pts) => pts > previous && pts < unit.pts)) expect(unit.keyframe).toBe(true);
        previous = unit.pts;
      }
      // Every keyframe that lost nothing, and whose predecessor lost nothing, comes out.
      const intact = (k: number) => !lost[k]?.includes(true);
      const intactKeyframes = pictures.filter((p, k) => p.keyframe && intact(k) && intact(k - 1));
      expect(units.filter((u) => u.keyframe)).toEqual(expect.arrayContaining(intactKeyframes));
      expect(lostPts.length).toBeGreaterThan(3);
      expect(reasons.length).toBeGreaterThan(0);
    });
  }
});

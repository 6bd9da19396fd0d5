import { describe, expect, test } from "bun:test";
import {
  concatBytes,
  OPUS_REGISTRATION,
  patSection,
  pesBytes,
  pesPackets,
  pmtSection,
  psiPackets,
  tsPacket,
} from "../../bench/lib/mpegts/tsBuilders.ts";
import { randomChunks, seededRandom } from "../../bench/lib/random.ts";
import { type ScannedPacket, TsKeyframeScanner } from "../../lib/mpegts/tsKeyframeScanner.ts";
import { TS_PACKET_SIZE } from "../../lib/mpegts/tsPacket.ts";
import { FIXTURE_FACTS } from "../fixtures/fixtureFacts.ts";
import { readFixture } from "../fixtures/readFixture.ts";
import { demuxAll, tracksOf, videoOf } from "./demuxHelpers.ts";

const PMT_PID = 0x1000;
const VIDEO_PID = 0x100;
const AUDIO_PID = 0x101;

function scanAll(chunks: Uint8Array[]): { packets: ScannedPacket[]; scanner: TsKeyframeScanner } {
  const scanner = new TsKeyframeScanner();
  const packets = chunks.flatMap((chunk) => scanner.push(chunk));
  packets.push(...scanner.flush());
  return { packets, scanner };
}

/** What a scan found, comparable across chunkings. */
const summary = (packets: ScannedPacket[]) =>
  packets.map((p) => `${p.pid} ${p.kind} ${p.keyframe} ${p.pts} ${Buffer.from(p.bytes).toString("hex")}`);

describe("TsKeyframeScanner on the fixtures (numbers checked with ffprobe)", () => {
  test.each(FIXTURE_FACTS.map((f) => [f.file, f] as const))("%s", (file, facts) => {
    const bytes = readFixture(file);
    const { packets, scanner } = scanAll([bytes]);
    expect(packets.length).toBe(bytes.length / TS_PACKET_SIZE);
    expect(packets.every((p, i) => p.bytes.every((b, j) => b === bytes[i * TS_PACKET_SIZE + j]))).toBe(true);
    const video = facts.video;
    expect(scanner.videoPid).toBe(video?.pid);
    const keyframes = packets.filter((p) => p.keyframe);
    expect(keyframes.length).toBe(video?.keyframes ?? 0);
    expect(scanner.stats).toEqual({ packets: packets.length, resyncs: 0, keyframes: keyframes.length });
    if (video) {
      const starts = packets.filter((p) => p.kind === "video" && p.pts !== undefined);
      expect(starts.length).toBe(video.count); // one PES per picture
      expect(keyframes[0]!.pts).toBe(video.firstPts); // the first picture is an IDR
      expect(keyframes.every((p) => p.pid === video.pid && p.kind === "video")).toBe(true);
    }
    if (facts.opus) {
      const starts = packets.filter((p) => p.kind === "audio" && p.pts !== undefined);
      expect(starts[0]!.pts).toBe(facts.opus.firstPts);
      expect(starts.every((p) => p.pts! >= facts.opus!.firstPts && p.pts! <= facts.opus!.lastPts)).toBe(true);
    }
    for (const [pid, , codec] of facts.streams) {
      const kind = codec === "h264" ? "video" : "audio";
      expect(packets.filter((p) => p.pid === pid).every((p) => p.kind === kind)).toBe(true);
    }
    expect(packets.filter((p) => p.pid === 0).every((p) => p.kind === "pat")).toBe(true);
    expect(packets.filter((p) => p.pid === PMT_PID).every((p) => p.kind === "pmt")).toBe(true);
  });

  test.each([1, 7, 188, 1000, 65536])("random chunks up to %d bytes give the same packets", (max) => {
    const bytes = readFixture("av.mpegts");
    const whole = summary(scanAll([bytes]).packets);
    expect(summary(scanAll(randomChunks(bytes, seededRandom(max), max)).packets)).toEqual(whole);
  });

  test("a stream cut at a keyframe and started with programPackets() demuxes from that keyframe on", () => {
    const bytes = readFixture("av-6s.mpegts");
    const scanner = new TsKeyframeScanner();
    const packets = scanner.push(bytes);
    const second = packets.filter((p) => p.keyframe)[1]!;
    const at = packets.indexOf(second);
    // What the scanner held when the keyframe arrived: scan again up to it.
    const upTo = new TsKeyframeScanner();
    upTo.push(bytes.subarray(0, at * TS_PACKET_SIZE));
    const program = upTo.programPackets();
    expect(program.map((p) => ((p[1]! & 0x1f) << 8) | p[2]!)).toEqual([0, PMT_PID]);

    const cut = concatBytes([...program, bytes.subarray(at * TS_PACKET_SIZE)]);
    const { events } = demuxAll([cut]);
    expect(tracksOf(events).length).toBe(1);
    const video = videoOf(events);
    expect(video[0]!.keyframe).toBe(true);
    expect(video[0]!.pts).toBe(second.pts!);
    expect(video.length).toBe(180 - 60); // GOP 60 of 180 pictures (fixtureFacts)
  });

  test("finds sync again after garbage, and keeps a partial packet across chunks", () => {
    const bytes = readFixture("video-only.mpegts");
    const middle = 100 * TS_PACKET_SIZE;
    const garbage = new Uint8Array(77).fill(0x47);
    const damaged = concatBytes([bytes.subarray(0, middle), garbage, bytes.subarray(middle)]);
    const resyncs: number[] = [];
    const scanner = new TsKeyframeScanner({ onResync: (skipped) => resyncs.push(skipped) });
    const packets = [...scanner.push(damaged.subarray(0, middle + 30)), ...scanner.push(damaged.subarray(middle + 30))];
    packets.push(...scanner.flush());
    expect(resyncs).toEqual([77]);
    expect(scanner.stats.resyncs).toBe(1);
    expect(packets.length).toBe(bytes.length / TS_PACKET_SIZE);
    expect(packets.filter((p) => p.keyframe).length).toBe(4);
  });
});

/** PAT + PMT (H.264 on VIDEO_PID, Opus on AUDIO_PID). */
function programHead(version = 0, videoPid = VIDEO_PID, cc = 0): Uint8Array[] {
  return [
    ...psiPackets(0, patSection([[1, PMT_PID]]), cc),
    ...psiPackets(
      PMT_PID,
      pmtSection({
        version,
        pcrPid: videoPid,
        streams: [
          { streamType: 0x1b, pid: videoPid },
          { streamType: 0x06, pid: AUDIO_PID, descriptors: OPUS_REGISTRATION },
        ],
      }),
      cc,
    ),
  ];
}

const annexB = (...nalTypes: number[]) =>
  concatBytes(nalTypes.map((type) => Uint8Array.of(0, 0, 0, 1, type, 0x88, 0x84, 0x21)));

/** One video PES (PTS `pts`) holding NAL units of these types, as packets. */
function videoPes(pts: number, payload: Uint8Array, options: { bounded?: boolean; cc?: number } = {}): Uint8Array[] {
  return pesPackets(VIDEO_PID, pesBytes({ pts, payload, bounded: options.bounded ?? false }), options.cc ?? 0);
}

/** Sets random_access_indicator (2.4.3.4) in a packet that has an adaptation field with flags. */
function withRandomAccess(packet: Uint8Array): Uint8Array {
  const out = packet.slice();
  if (!(out[3]! & 0x20) || out[4] === 0) throw new Error("packet has no adaptation field flags byte");
  out[5]! |= 0x40;
  return out;
}

describe("TsKeyframeScanner on hand-built packets", () => {
  test.each([
    ["an IDR slice", true, annexB(9, 5)],
    ["an SPS before a non-IDR slice", true, annexB(9, 7, 8, 1)],
    ["a non-IDR slice only", false, annexB(9, 1)],
    ["SEI and a non-IDR slice", false, annexB(6, 1)],
  ])("a video PES with %s: keyframe %p", (_, keyframe, payload) => {
    const { packets } = scanAll([concatBytes([...programHead(), ...videoPes(90_000, payload)])]);
    const start = packets.find((p) => p.kind === "video")!;
    expect(start.keyframe).toBe(keyframe);
    expect(start.pts).toBe(90_000);
  });

  test("random_access_indicator marks a keyframe whatever the NAL units", () => {
    const [first] = videoPes(1234, annexB(9, 1));
    const { packets } = scanAll([concatBytes([...programHead(), withRandomAccess(first!)])]);
    expect(packets.at(-1)).toMatchObject({ kind: "video", keyframe: true, pts: 1234 });
  });

  test("an IDR whose NAL header lies past the first packet is not seen (only the first packet is read)", () => {
    const filler = new Uint8Array(300).fill(0x55); // an SEI payload longer than one packet
    const payload = concatBytes([Uint8Array.of(0, 0, 0, 1, 6), filler, annexB(5)]);
    const { packets } = scanAll([concatBytes([...programHead(), ...videoPes(0, payload)])]);
    expect(packets.some((p) => p.keyframe)).toBe(false);
    // The picture is an IDR all the same (the demuxer reads the whole PES): a documented limit of a packet-level scan.
    expect(videoOf(demuxAll(packets.map((p) => p.bytes)).events)[0]!.keyframe).toBe(true);
  });

  test("a PES with PES_packet_length set longer than its first packet still gives its PTS", () => {
    const payload = concatBytes([annexB(9, 5), new Uint8Array(400)]);
    const { packets } = scanAll([
      concatBytes([...programHead(), ...videoPes(2 ** 33 - 1, payload, { bounded: true })]),
    ]);
    const video = packets.filter((p) => p.kind === "video");
    expect(video.length).toBe(3); // 14 header bytes + 416 payload bytes over 184-byte packet payloads
    expect(video.map((p) => p.pts)).toEqual([2 ** 33 - 1, undefined, undefined]);
    expect(video.map((p) => p.keyframe)).toEqual([true, false, false]);
  });

  test("audio PES starts carry their PTS and are never keyframes", () => {
    const audio = pesPackets(AUDIO_PID, pesBytes({ streamId: 0xc0, pts: 5000, payload: new Uint8Array(10) }));
    const { packets } = scanAll([concatBytes([...programHead(), ...audio])]);
    expect(packets.at(-1)).toMatchObject({ pid: AUDIO_PID, kind: "audio", keyframe: false, pts: 5000 });
  });

  test("before the PMT nothing is video: no keyframe, kind other", () => {
    const { packets, scanner } = scanAll([concatBytes([...videoPes(0, annexB(5)), ...programHead()])]);
    expect(packets[0]).toMatchObject({ kind: "other", keyframe: false, pts: undefined });
    expect(scanner.programKnown).toBe(true);
    expect(scanner.programPackets()).toEqual(programHead());
  });

  test("programPackets() is empty until both PAT and PMT were read", () => {
    const scanner = new TsKeyframeScanner();
    const [pat, pmt] = programHead();
    scanner.push(pat!);
    expect(scanner.programPackets()).toEqual([]);
    expect(scanner.programKnown).toBe(false);
    scanner.push(pmt!);
    expect(scanner.programPackets()).toEqual([pat!, pmt!]);
  });

  test("a PMT section over two packets is kept as both packets", () => {
    const bigDescriptor = [0xaa, 250, ...new Array<number>(250).fill(0)];
    const pmt = pmtSection({
      pcrPid: VIDEO_PID,
      streams: [{ streamType: 0x1b, pid: VIDEO_PID, descriptors: bigDescriptor }],
    });
    const pmtPackets = psiPackets(PMT_PID, pmt);
    expect(pmtPackets.length).toBe(2);
    const pat = psiPackets(0, patSection([[1, PMT_PID]]));
    const { scanner } = scanAll([concatBytes([...pat, ...pmtPackets])]);
    expect(scanner.programPackets()).toEqual([...pat, ...pmtPackets]);
    expect(scanner.videoPid).toBe(VIDEO_PID);
  });

  test("a new PMT version moves the video PID; the latest PAT and PMT are kept", () => {
    const first = programHead(0, VIDEO_PID, 0);
    const second = programHead(1, 0x200, 1);
    const { scanner, packets } = scanAll([concatBytes([...first, ...second])]);
    expect(scanner.videoPid).toBe(0x200);
    expect(scanner.programPackets()).toEqual(second);
    expect(packets.map((p) => p.kind)).toEqual(["pat", "pmt", "pat", "pmt"]);
  });

  test("a PMT with a bad CRC is not kept", () => {
    const good = programHead();
    const bad = programHead(1, 0x200, 1);
    bad[1]![20]! ^= 0xff; // inside the section: the CRC no longer matches
    const { scanner } = scanAll([concatBytes([...good, ...bad])]);
    expect(scanner.videoPid).toBe(VIDEO_PID);
    expect(scanner.programPackets()).toEqual([bad[0]!, good[1]!]);
  });

  test("a packet with transport_error_indicator is passed on but not read", () => {
    const [first] = videoPes(0, annexB(5));
    const damaged = first!.slice();
    damaged[1]! |= 0x80;
    const { packets } = scanAll([concatBytes([...programHead(), damaged])]);
    expect(packets.at(-1)).toMatchObject({ kind: "video", keyframe: false, pts: undefined });
    expect(packets.at(-1)!.bytes).toEqual(damaged);
  });

  test("a stuffed packet on another PID is other", () => {
    const { packets } = scanAll([concatBytes([...programHead(), tsPacket({ pid: 0x1fff, cc: 0 })])]);
    expect(packets.at(-1)).toMatchObject({ pid: 0x1fff, kind: "other", keyframe: false, pts: undefined });
  });
});

import { describe, expect, test } from "bun:test";
import { TsDemuxer, TsDemuxStream, type DemuxError, type DemuxEvent } from "../../lib/mpegts/tsDemuxer.ts";
import { crc32Mpeg2 } from "../../lib/mpegts/crc32.ts";
import { readFixture } from "../fixtures/readFixture.ts";
import { randomChunks, seededRandom } from "../helpers/random.ts";

const AV = readFixture("av.mpegts");

function demuxAll(chunks: Uint8Array[], onDecodeError?: (e: DemuxError) => void) {
  const demuxer = new TsDemuxer(onDecodeError ? { onDecodeError } : {});
  const events: DemuxEvent[] = [];
  for (const chunk of chunks) events.push(...demuxer.push(chunk));
  events.push(...demuxer.flush());
  return { events, stats: demuxer.stats };
}

const units = (events: DemuxEvent[]) => events.flatMap((e) => (e.type === "unit" ? [e.unit] : []));
const video = (events: DemuxEvent[]) => units(events).filter((u) => u.track === "video");
const audio = (events: DemuxEvent[]) => units(events).filter((u) => u.track === "audio");

/** A stable digest of everything the demuxer emitted, to compare runs. */
function digest(events: DemuxEvent[]): string {
  return JSON.stringify(
    events.map((e) =>
      e.type === "tracks"
        ? e
        : e.unit.track === "video"
          ? [e.unit.pts, e.unit.dts, e.unit.keyframe, e.unit.nalus.map((n) => Buffer.from(n).toString("base64"))]
          : [e.unit.pts, e.unit.samples, Buffer.from(e.unit.payload).toString("base64")],
    ),
  );
}

// Numbers checked with: ffprobe -v error -show_packets -of csv tests/fixtures/<f>.mpegts
const FIXTURES = [
  { file: "av.mpegts", video: 60, keyframes: 2, audio: 101, codecs: ["h264", "opus"] },
  { file: "video-only.mpegts", video: 120, keyframes: 4, audio: 0, codecs: ["h264"] },
  { file: "audio-only.mpegts", video: 0, keyframes: 0, audio: 201, codecs: ["opus"] },
  { file: "aac.mpegts", video: 60, keyframes: 2, audio: 0, codecs: ["h264", "aac"] },
  { file: "bframes.mpegts", video: 60, keyframes: 2, audio: 0, codecs: ["h264"] },
];

describe("TsDemuxer on ffmpeg fixtures", () => {
  test.each(FIXTURES)("$file: tracks from the PMT and every access unit", (f) => {
    const { events, stats } = demuxAll([readFixture(f.file)]);
    expect(events[0]!.type).toBe("tracks");
    const tracks = (events[0] as Extract<DemuxEvent, { type: "tracks" }>).tracks;
    expect(tracks.map((t) => t.codec)).toEqual(f.codecs);
    expect(video(events).length).toBe(f.video);
    expect(video(events).filter((u) => u.track === "video" && u.keyframe).length).toBe(f.keyframes);
    expect(audio(events).length).toBe(f.audio);
    expect(stats).toMatchObject({ continuityErrors: 0, crcErrors: 0, droppedUnits: 0, resyncs: 0 });
  });

  test("H.264 units: keyframe first with SPS/PPS/IDR, PTS 3000 apart at 30 fps", () => {
    const vids = video(demuxAll([AV]).events);
    const first = vids[0]!;
    if (first.track !== "video") throw new Error("expected video");
    expect(first.keyframe).toBe(true);
    expect(first.nalus.map((n) => n[0]! & 0x1f)).toEqual(expect.arrayContaining([7, 8, 5]));
    expect(first.pts).toBe(126585); // ffprobe: pts 126585 on the first video packet
    expect(vids[1]!.pts - first.pts).toBe(3000);
  });

  test("B-frames show as PTS != DTS", () => {
    const vids = video(demuxAll([readFixture("bframes.mpegts")]).events);
    expect(vids.some((u) => u.track === "video" && u.pts !== u.dts)).toBe(true);
  });

  test("Opus: one unit per packet, 20 ms = 960 samples = 1800 ticks apart, though ffmpeg packs several per PES", () => {
    const auds = audio(demuxAll([AV]).events);
    expect(auds[0]!.pts).toBe(126000);
    for (let i = 1; i < auds.length; i++) {
      const u = auds[i]!;
      if (u.track !== "audio") throw new Error("expected audio");
      expect(u.samples).toBe(960);
      expect(u.pts - auds[i - 1]!.pts).toBe(1800);
    }
  });

  test.each([1, 7, 188, 1000])("random chunk splits (seed %p) give the same events as one push", (seed) => {
    const whole = digest(demuxAll([AV]).events);
    const random = seededRandom(seed);
    expect(digest(demuxAll(randomChunks(AV, random, seed === 1 ? 1 : 400)).events)).toBe(whole);
  });

  test("1-byte chunks", () => {
    const chunks = Array.from({ length: 188 * 60 }, (_, i) => AV.subarray(i, i + 1));
    expect(digest(demuxAll(chunks).events)).toBe(digest(demuxAll([AV.subarray(0, 188 * 60)]).events));
  });
});

describe("TsDemuxer on damaged input", () => {
  test("garbage before the stream and a mid-packet start: resync, all later units intact", () => {
    const garbage = new Uint8Array(1000).map((_, i) => (i * 31) & 0xff).fill(0x47, 500, 501);
    const errors: DemuxError[] = [];
    const { events, stats } = demuxAll([garbage, AV.subarray(100)], (e) => errors.push(e));
    expect(stats.resyncs).toBeGreaterThanOrEqual(1);
    expect(errors.some((e) => e.kind === "resync")).toBe(true);
    // The first (partial) packet is lost; the rest of the stream decodes.
    expect(video(events).length).toBeGreaterThanOrEqual(59);
    expect(audio(events).length).toBeGreaterThanOrEqual(99);
  });

  test("a lost TS packet: one continuity error, that unit dropped, the rest intact", () => {
    // Remove a video packet (PID 0x100) from the middle of a picture: not a unit start, nor the one after it.
    const packets: Uint8Array[] = [];
    let videoPackets = 0;
    let removed = false;
    for (let i = 0; i < AV.length; i += 188) {
      const p = AV.subarray(i, i + 188);
      const pid = ((p[1]! & 0x1f) << 8) | p[2]!;
      const startsUnit = (q: Uint8Array | undefined) => !!q && (q[1]! & 0x40) !== 0;
      const midPicture = !startsUnit(p) && !startsUnit(AV.subarray(i + 188, i + 376));
      if (pid === 0x100 && ++videoPackets >= 200 && midPicture && !removed) {
        removed = true;
        continue;
      }
      packets.push(p);
    }
    const bytes = Buffer.concat(packets);
    const { events, stats } = demuxAll([bytes]);
    expect(stats.continuityErrors).toBe(1);
    expect(stats.droppedUnits).toBe(1);
    expect(video(events).length).toBe(59);
    expect(audio(events).length).toBe(101);
  });

  test("a PMT with a bad CRC is counted and ignored", () => {
    const bytes = new Uint8Array(AV);
    let corrupted = 0;
    for (let i = 0; i < bytes.length; i += 188) {
      const pid = ((bytes[i + 1]! & 0x1f) << 8) | bytes[i + 2]!;
      if (pid === 0x1000) {
        bytes[i + 10]! ^= 0xff; // inside the first PMT section
        corrupted++;
      }
    }
    const { events, stats } = demuxAll([bytes]);
    expect(stats.crcErrors).toBe(corrupted);
    expect(events.filter((e) => e.type === "tracks")).toEqual([]);
  });

  test("a PMT version change emits a second tracks event", () => {
    const bytes = new Uint8Array(AV);
    const half = Math.floor(bytes.length / 188 / 2) * 188;
    for (let i = half; i < bytes.length; i += 188) {
      const pid = ((bytes[i + 1]! & 0x1f) << 8) | bytes[i + 2]!;
      if (pid !== 0x1000) continue;
      const start = i + 5; // after the 4-byte header and pointer_field 0
      const length = 3 + (((bytes[start + 1]! & 0x0f) << 8) | bytes[start + 2]!);
      bytes[start + 5] = (bytes[start + 5]! & 0xc1) | (1 << 1); // version_number 1
      const crc = crc32Mpeg2(bytes.subarray(start, start + length - 4));
      new DataView(bytes.buffer).setUint32(start + length - 4, crc);
    }
    const tracks = demuxAll([bytes]).events.filter((e) => e.type === "tracks");
    expect(tracks.map((e) => (e as { pmtVersion: number }).pmtVersion)).toEqual([0, 1]);
    expect(video(demuxAll([bytes]).events).length).toBe(60); // following the same PIDs loses nothing
  });

  test("random bytes never throw", () => {
    const random = seededRandom(42);
    const noise = new Uint8Array(50_000).map(() => Math.floor(random() * 256));
    for (let i = 0; i < noise.length; i += 97) noise[i] = 0x47;
    expect(() => demuxAll(randomChunks(noise, random, 1000))).not.toThrow();
  });
});

test("TsDemuxStream pipes a ReadableStream of chunks", async () => {
  const chunks = randomChunks(AV, seededRandom(3), 5000);
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(c);
      controller.close();
    },
  });
  const events: DemuxEvent[] = [];
  const reader = source.pipeThrough(new TsDemuxStream()).getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) events.push(r.value);
  expect(digest(events)).toBe(digest(demuxAll([AV]).events));
});

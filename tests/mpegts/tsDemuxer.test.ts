import { describe, expect, test } from "bun:test";
import { nalType } from "../../lib/codec/h264.ts";
import { TsDemuxer } from "../../lib/mpegts/tsDemuxer.ts";
import { parseTsPacket, type TsPacket } from "../../lib/mpegts/tsPacket.ts";
import { FIXTURE_FACTS, type FixtureFacts } from "../fixtures/fixtureFacts.ts";
import { readFixture } from "../fixtures/readFixture.ts";
import { randomChunks, seededRandom } from "../../bench/lib/random.ts";
import { audioOf, AV, CLEAN_DIGEST, demuxAll, digest, NO_ERRORS, tracksOf, videoOf } from "./demuxHelpers.ts";
import { TS } from "../../bench/lib/mpegts/tsBuilders.ts";

describe("ffmpeg fixtures: exact numbers checked with ffprobe / trace_headers", () => {
  test.each(FIXTURE_FACTS)("$file: one tracks event from the PMT", (f: FixtureFacts) => {
    const { events } = demuxAll([readFixture(f.file)]);
    expect(events[0]!.type).toBe("tracks");
    const tracks = tracksOf(events);
    expect(tracks.length).toBe(1);
    const event = tracks[0]!;
    if (event.type !== "tracks") throw new Error("unreachable");
    expect({ programNumber: event.programNumber, pmtVersion: event.pmtVersion }).toEqual({
      programNumber: f.programNumber,
      pmtVersion: 0,
    });
    expect(event.tracks.map((t) => [t.pid, t.streamType, t.codec])).toEqual(f.streams);
    for (const t of event.tracks) expect(t.playable).toBe(t.codec === "h264" || t.codec === "opus");
  });

  test.each(FIXTURE_FACTS)("$file: counters clean, every packet read, no callback", (f) => {
    const bytes = readFixture(f.file);
    const { stats, errors } = demuxAll([bytes]);
    expect(errors).toEqual([]);
    expect(stats).toEqual({ packets: bytes.length / TS, ...NO_ERRORS });
  });

  const withVideo = FIXTURE_FACTS.filter((f) => f.video);
  test.each(withVideo)("$file: H.264 access units", (f) => {
    const facts = f.video!;
    const video = videoOf(demuxAll([readFixture(f.file)]).events);
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    expect({
      count: video.length,
      keyframes: video.filter((u) => u.keyframe).length,
      firstPts: video[0]!.pts,
      lastPts: video.at(-1)!.pts,
      firstDts: video[0]!.dts,
      sumPts: sum(video.map((u) => u.pts)),
      sumDts: sum(video.map((u) => u.dts)),
    }).toEqual({
      count: facts.count,
      keyframes: facts.keyframes,
      firstPts: facts.firstPts,
      lastPts: facts.lastPts,
      firstDts: facts.firstDts,
      sumPts: facts.sumPts,
      sumDts: facts.sumDts,
    });
    expect(video.every((u) => u.pid === facts.pid)).toBe(true);
    const nalTypes: Record<number, number> = {};
    for (const n of video.flatMap((u) => u.nalus)) nalTypes[nalType(n)] = (nalTypes[nalType(n)] ?? 0) + 1;
    expect(nalTypes).toEqual(facts.nalTypes);
    expect(video[0]!.nalus.map(nalType)).toEqual(facts.firstUnitNalTypes);
    expect(video[0]!.keyframe).toBe(true);
  });

  const withOpus = FIXTURE_FACTS.filter((f) => f.opus);
  test.each(withOpus)("$file: one Opus unit per packet, though ffmpeg packs several per PES", (f) => {
    const facts = f.opus!;
    const audio = audioOf(demuxAll([readFixture(f.file)]).events);
    expect(audio.length).toBe(facts.count);
    expect([audio[0]!.pts, audio.at(-1)!.pts]).toEqual([facts.firstPts, facts.lastPts]);
    expect(audio.reduce((n, u) => n + u.pts, 0)).toBe(facts.sumPts);
    expect(audio.reduce((n, u) => n + u.payload.length, 0)).toBe(facts.payloadBytes);
    expect(audio[0]!.payload.length).toBe(facts.firstSize);
    expect(new Set(audio.map((u) => u.samples))).toEqual(new Set([facts.samplesEach]));
    for (let i = 1; i < audio.length; i++) expect(audio[i]!.pts - audio[i - 1]!.pts).toBe(1800); // 960 samples
    expect(audio.every((u) => u.pid === facts.pid)).toBe(true);
  });

  test("aac.mpegts: the AAC track is listed, not followed, and says why", () => {
    const { events } = demuxAll([readFixture("aac.mpegts")]);
    const event = tracksOf(events)[0]!;
    if (event.type !== "tracks") throw new Error("unreachable");
    expect(event.tracks[1]).toEqual({
      pid: 0x101,
      streamType: 0x0f,
      kind: "audio",
      codec: "aac",
      playable: false,
      reason: "AAC cannot be sent over WebRTC; encode Opus (ffmpeg -c:a libopus)",
    });
    expect(audioOf(events)).toEqual([]);
  });

  test("bframes.mpegts: B-frames show as PTS != DTS on every unit", () => {
    const video = videoOf(demuxAll([readFixture("bframes.mpegts")]).events);
    expect(video.filter((u) => u.pts !== u.dts).length).toBe(60); // ffprobe: pts != dts on all 60 packets
  });

  test("video PES have no length (ffmpeg): each picture still comes out at its own last TS packet", () => {
    const demuxer = new TsDemuxer();
    const pictures: number[] = [];
    for (let at = 0; at < AV.length; at += 188) {
      const packet = AV.subarray(at, at + 188);
      const out = videoOf(demuxer.push(packet));
      if (out.length === 0) continue;
      // At the picture's own last packet (video PID, stuffed), not at the next picture's first.
      const parsed = parseTsPacket(packet) as TsPacket;
      expect([parsed.pid, parsed.stuffed]).toEqual([0x100, true]);
      pictures.push(...out.map((u) => u.pts));
    }
    expect(pictures.length).toBe(60);
    expect(pictures.at(-1)).toBe(303585);
    expect(demuxer.flush()).toEqual([]);
    expect(demuxer.stats.droppedUnits).toBe(0);
  });
});

describe("any chunking gives the same events", () => {
  test.each([3, 7, 188, 1000, 4096])("random chunk sizes up to %d bytes", (max) => {
    expect(digest(demuxAll(randomChunks(AV, seededRandom(max), max)).events)).toEqual(CLEAN_DIGEST);
  });

  test("1-byte chunks", () => {
    const chunks = Array.from({ length: AV.length }, (_, i) => AV.subarray(i, i + 1));
    expect(digest(demuxAll(chunks).events)).toEqual(CLEAN_DIGEST);
  });
});

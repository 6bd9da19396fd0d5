/** The demuxer on ffmpeg's av.mpegts with damage done to it: what is lost, what is counted, what survives. */
import { describe, expect, test } from "bun:test";
import { crc32Mpeg2 } from "../../lib/mpegts/crc32.ts";
import { randomChunks, seededRandom } from "../../bench/lib/random.ts";
import {
  AUDIO_PID,
  audioOf,
  AV,
  CLEAN,
  CLEAN_DIGEST,
  demuxAll,
  digest,
  NO_ERRORS,
  PMT_PID,
  tracksOf,
  unitsOf,
  VIDEO_PID,
  videoOf,
} from "./demuxHelpers.ts";
import { concatBytes, packetsOf, pidOf, TS } from "../../bench/lib/mpegts/tsBuilders.ts";

/** The fixture's packets, to damage. */
const PACKETS = packetsOf(AV);

describe("damaged input", () => {
  test("garbage before the stream and a mid-packet start: one resync, every unit intact", () => {
    const garbage = new Uint8Array(1000).map((_, i) => (i * 31 + 1) & 0x3f); // no 0x47 in it
    const { events, stats, errors } = demuxAll(
      randomChunks(concatBytes([garbage, AV.subarray(100)]), seededRandom(4), 3000),
    );
    // Only the first packet (ffmpeg's SDT, PID 0x11) is lost with the 100 bytes cut off.
    expect(pidOf(PACKETS[0]!)).toBe(0x11);
    expect(digest(events)).toEqual(CLEAN_DIGEST);
    expect(stats).toMatchObject({ resyncs: 1, continuityErrors: 0, droppedUnits: 0 });
    expect(errors).toEqual([{ kind: "resync", message: "lost packet sync; found it again after skipping 1088 bytes" }]);
  });

  test("joined mid-stream: units from the next PMT on, each as in a clean run", () => {
    const cut = 200 * TS + 50;
    const { events, stats } = demuxAll([AV.subarray(cut)]);
    expect(stats.resyncs).toBe(1);
    const later = digest(events.filter((e) => e.type === "unit"));
    const clean = digest(CLEAN.events.filter((e) => e.type === "unit"));
    expect(later.length).toBeGreaterThan(clean.length / 2 - 10);
    // Every unit is one of the clean run's, in order (a subsequence: the tracks started mid-PES lose their first).
    let at = 0;
    for (const unit of later) {
      at = clean.indexOf(unit, at);
      expect(at).toBeGreaterThanOrEqual(0);
    }
  });

  /** Drops one packet of a PID from the middle of a unit (neither it nor the next starts a PES). */
  function withoutOnePacket(pid: number, afterCount: number): { bytes: Uint8Array; index: number } {
    let seen = 0;
    const startsUnit = (p: Uint8Array | undefined) => p !== undefined && pidOf(p) === pid && (p[1]! & 0x40) !== 0;
    const nextOnPid = (i: number) => PACKETS.slice(i + 1).find((p) => pidOf(p) === pid);
    const index = PACKETS.findIndex((p, i) =>
      pidOf(p) === pid && ++seen > afterCount && !startsUnit(p) && !startsUnit(nextOnPid(i))
    );
    return { bytes: concatBytes(PACKETS.filter((_, i) => i !== index)), index };
  }

  test("a lost video packet: continuityErrors 1, that picture dropped, the rest intact", () => {
    const { bytes } = withoutOnePacket(VIDEO_PID, 150);
    const { events, stats, errors } = demuxAll([bytes]);
    expect(stats).toMatchObject({ continuityErrors: 1, droppedUnits: 1, crcErrors: 0, resyncs: 0 });
    expect(errors.map((e) => [e.kind, e.pid])).toEqual([["continuity", VIDEO_PID]]);
    const clean = digest(CLEAN.events);
    const got = digest(events);
    const missing = clean.filter((d) => !got.includes(d));
    expect(missing.length).toBe(1);
    expect(missing[0]!.startsWith("v ")).toBe(true);
    expect(got).toEqual(clean.filter((d) => d !== missing[0]));
  });

  test("a lost Opus packet: that PES (its run of Opus packets) dropped, the rest intact", () => {
    const { bytes } = withoutOnePacket(AUDIO_PID, 20);
    const { events, stats } = demuxAll([bytes]);
    expect(stats).toMatchObject({ continuityErrors: 1, droppedUnits: 1 });
    const got = digest(events);
    const clean = digest(CLEAN.events);
    const missing = clean.filter((d) => !got.includes(d));
    expect(missing.length).toBeGreaterThan(1); // ffmpeg packs several Opus packets per PES
    expect(missing.every((d) => d.startsWith("a "))).toBe(true);
    expect(videoOf(events).length).toBe(60);
  });

  test("a duplicated packet (sent twice, 2.4.3.3) is skipped without error", () => {
    const index = PACKETS.findIndex((p, i) => i > 100 && pidOf(p) === VIDEO_PID);
    const bytes = concatBytes([...PACKETS.slice(0, index + 1), PACKETS[index]!, ...PACKETS.slice(index + 1)]);
    const { events, stats } = demuxAll([bytes]);
    expect(digest(events)).toEqual(CLEAN_DIGEST);
    expect(stats).toMatchObject(NO_ERRORS);
  });

  test("a packet with transport_error_indicator: discarded, reported, its unit dropped", () => {
    const { index } = withoutOnePacket(VIDEO_PID, 150);
    const damaged = PACKETS.map((p, i) => (i === index ? Uint8Array.from(p, (b, k) => (k === 1 ? b | 0x80 : b)) : p));
    const { events, stats, errors } = demuxAll([concatBytes(damaged)]);
    expect(errors.map((e) => e.kind)).toEqual(["packet", "continuity"]);
    expect(stats).toMatchObject({ continuityErrors: 1, droppedUnits: 1 });
    expect(videoOf(events).length).toBe(59);
  });

  function patchPmts(edit: (section: Uint8Array, nth: number) => void, resign = true): Uint8Array {
    const bytes = AV.slice();
    let nth = 0;
    for (let i = 0; i < bytes.length; i += TS) {
      if (pidOf(bytes.subarray(i)) !== PMT_PID) continue;
      const start = i + 5; // after the 4-byte header and pointer_field 0
      const length = 3 + (((bytes[start + 1]! & 0x0f) << 8) | bytes[start + 2]!);
      const section = bytes.subarray(start, start + length);
      edit(section, nth++);
      if (resign) new DataView(bytes.buffer).setUint32(start + length - 4, crc32Mpeg2(section.subarray(0, length - 4)));
    }
    return bytes;
  }

  test("every PMT with a flipped byte: each CRC failure counted, no tracks, no units", () => {
    const bytes = patchPmts((s) => (s[10]! ^= 0xff), false);
    const { events, stats, errors } = demuxAll([bytes]);
    expect(stats.crcErrors).toBe(20); // 20 PMT packets in av.mpegts
    expect(errors.every((e) => e.kind === "crc" && e.pid === PMT_PID && e.message === "PMT: CRC_32 mismatch")).toBe(
      true,
    );
    expect(events).toEqual([]);
  });

  test("only the first PMT damaged: tracks from the second, units after it", () => {
    const bytes = patchPmts((s, nth) => nth === 0 && (s[14]! ^= 0x01), false);
    const { events, stats } = demuxAll([bytes]);
    expect(stats.crcErrors).toBe(1);
    expect(tracksOf(events).length).toBe(1);
    const clean = digest(CLEAN.events.filter((e) => e.type === "unit"));
    const got = digest(events.filter((e) => e.type === "unit"));
    expect(got).toEqual(clean.slice(clean.length - got.length)); // a tail of the clean run
    expect(got.length).toBeGreaterThan(clean.length - 20);
  });

  test("a PMT version change: a second tracks event, the same PIDs followed, nothing lost", () => {
    const bytes = patchPmts((s, nth) => nth >= 10 && (s[5] = (s[5]! & 0xc1) | (7 << 1)));
    const { events, stats } = demuxAll(randomChunks(bytes, seededRandom(8), 2000));
    expect(tracksOf(events).map((e) => e.type === "tracks" && e.pmtVersion)).toEqual([0, 7]);
    expect(digest(events.filter((e) => e.type === "unit"))).toEqual(
      digest(CLEAN.events.filter((e) => e.type === "unit")),
    );
    expect(stats).toMatchObject(NO_ERRORS);
  });

  test("a stream list change without a version change: new tracks; a removed PID is no longer followed", () => {
    // From the 10th PMT on, the Opus entry says stream_type 0x0f (AAC): no longer playable.
    const bytes = patchPmts((s, nth) => {
      if (nth >= 10) s[17] = 0x0f; // stream_type of the second ES entry (after 12 header bytes + 5 of the H.264 entry)
    });
    const { events } = demuxAll([bytes]);
    const tracks = tracksOf(events);
    expect(tracks.map((e) => e.type === "tracks" && e.tracks.map((t) => t.codec))).toEqual([["h264", "opus"], [
      "h264",
      "aac",
    ]]);
    const changeAt = events.indexOf(tracks[1]!);
    expect(audioOf(events.slice(changeAt))).toEqual([]);
    expect(audioOf(events.slice(0, changeAt)).length).toBeGreaterThan(30);
    expect(videoOf(events).length).toBe(60);
  });

  test("a truncated end: the partial packet is reported at flush, nothing thrown", () => {
    const { errors, stats } = demuxAll([AV.subarray(0, AV.length - 100)]);
    expect(errors.map((e) => e.message)).toEqual(["stream ended with 88 bytes that are not a whole packet"]);
    expect(stats.packets).toBe(PACKETS.length - 1);
  });

  test.each([1, 2, 3, 4, 5, 6, 7, 8])(
    "random byte damage (seed %p) never throws; what comes out is well-formed",
    (seed) => {
      const random = seededRandom(seed);
      const bytes = AV.slice();
      for (let k = 0; k < 40; k++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      const { events, stats } = demuxAll(randomChunks(bytes, random, 3000));
      for (const unit of unitsOf(events)) {
        expect(unit.pts).toBeGreaterThanOrEqual(0);
        expect(unit.pts).toBeLessThan(2 ** 33);
        if (unit.track === "video") expect(unit.nalus.every((n) => n.length > 0)).toBe(true);
        else expect(unit.samples).toBeGreaterThan(0);
      }
      expect(stats.packets).toBeGreaterThan(300);
    },
  );

  test("pure noise never throws", () => {
    const random = seededRandom(42);
    const noise = new Uint8Array(60_000).map(() => Math.floor(random() * 256));
    for (let i = 0; i < noise.length; i += TS) noise[i] = 0x47; // looks like packets
    expect(() => demuxAll(randomChunks(noise, random, 1000))).not.toThrow();
  });
});

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AccessUnit, AudioAccessUnit, VideoAccessUnit } from "../../lib/accessUnit.ts";
import { crc32Mpeg2 } from "../../lib/mpegts/crc32.ts";
import { type DemuxEvent, TsDemuxer } from "../../lib/mpegts/tsDemuxer.ts";
import { PCR_LEAD_TICKS } from "../../lib/mpegts/tsMuxClock.ts";
import { AUDIO_PID, TsMuxer, type TsMuxerOptions, VIDEO_PID } from "../../lib/mpegts/tsMuxer.ts";
import { readFixture } from "../fixtures/readFixture.ts";
import { ffmpegH264Units, ffmpegOpusUnits } from "../helpers/muxSourceMedia.ts";
import { seededRandom } from "../../bench/lib/random.ts";

const hex = (bytes: Iterable<number>) => Buffer.from([...bytes]).toString("hex");
const AV: TsMuxerOptions = { video: true, audio: { channels: 2 } };

/** Test-side reading of our output, independent of lib/mpegts parsers. */
interface Packet {
  index: number;
  pid: number;
  unitStart: boolean;
  counter: number;
  hasPayload: boolean;
  randomAccess: boolean;
  discontinuity: boolean;
  pcr: number | undefined;
  payload: Uint8Array;
}

function readPackets(bytes: Uint8Array): Packet[] {
  expect(bytes.length % 188).toBe(0);
  const packets: Packet[] = [];
  for (let at = 0; at < bytes.length; at += 188) {
    const p = bytes.subarray(at, at + 188);
    expect(p[0]).toBe(0x47);
    const control = (p[3]! >> 4) & 3;
    const fieldLength = control & 2 ? p[4]! : -1;
    const flags = fieldLength > 0 ? p[5]! : 0;
    const pcr = flags & 0x10
      ? p[6]! * 2 ** 25 + ((p[7]! << 17) | (p[8]! << 9) | (p[9]! << 1) | (p[10]! >> 7))
      : undefined;
    packets.push({
      index: at / 188,
      pid: ((p[1]! & 0x1f) << 8) | p[2]!,
      unitStart: (p[1]! & 0x40) !== 0,
      counter: p[3]! & 0x0f,
      hasPayload: (control & 1) !== 0,
      randomAccess: (flags & 0x40) !== 0,
      discontinuity: (flags & 0x80) !== 0,
      pcr,
      payload: control & 1 ? p.subarray(5 + fieldLength) : new Uint8Array(0),
    });
  }
  return packets;
}

interface Pes {
  pid: number;
  first: Packet;
  bytes: Uint8Array;
  pts: number;
  dts: number;
}

function readTimestamp(b: Uint8Array, i: number): number {
  return ((b[i]! >> 1) & 7) * 2 ** 30 + ((b[i + 1]! << 7) | (b[i + 2]! >> 1)) * 2 ** 15 +
    ((b[i + 3]! << 7) | (b[i + 4]! >> 1));
}

/** PES packets per PID, from one unit start to the next. */
function readPes(packets: Packet[]): Pes[] {
  const open = new Map<number, { first: Packet; chunks: Uint8Array[] }>();
  const done: Pes[] = [];
  const close = (pid: number) => {
    const pes = open.get(pid);
    if (!pes) return;
    const bytes = Buffer.concat(pes.chunks);
    const pts = readTimestamp(bytes, 9);
    done.push({ pid, first: pes.first, bytes, pts, dts: bytes[7]! >> 6 === 3 ? readTimestamp(bytes, 14) : pts });
  };
  for (const p of packets) {
    if (p.pid === 0 || p.pid === 0x1000 || !p.hasPayload) continue;
    if (p.unitStart) {
      close(p.pid);
      open.set(p.pid, { first: p, chunks: [] });
    }
    open.get(p.pid)!.chunks.push(p.payload);
  }
  for (const pid of open.keys()) close(pid);
  return done.sort((a, b) => a.first.index - b.first.index);
}

function mux(units: AccessUnit[], options: TsMuxerOptions = AV): Uint8Array {
  const muxer = new TsMuxer(options);
  return Buffer.concat(units.map((u) => muxer.push(u)));
}

const time = (u: AccessUnit) => (u.track === "video" ? u.dts : u.pts);
/** Units in timestamp order, video first on a tie (as ffmpeg interleaves). */
const interleave = (...tracks: AccessUnit[][]) =>
  tracks.flat().sort((a, b) => time(a) - time(b) || (a.track === "video" ? -1 : 1) - (b.track === "video" ? -1 : 1));

// Real media made by ffmpeg (no container, so no demuxer of ours in the way).
const DIR = mkdtempSync(join(tmpdir(), "wisp-mux-"));
afterAll(() => rmSync(DIR, { recursive: true, force: true }));
const FIRST_PTS = 10 * 90_000;
const VIDEO = ffmpegH264Units(DIR, { seconds: 2, fps: 30, gop: 30, firstPts: FIRST_PTS });
const AUDIO = ffmpegOpusUnits(DIR, 2, 2, FIRST_PTS);
const SOURCE = interleave(VIDEO, AUDIO);

/** As WHIP hands them over: audio at once, each video frame complete 0..90 ms after its time (in order). */
function arrivalOrder(units: AccessUnit[], seed: number): AccessUnit[] {
  const random = seededRandom(seed);
  let lastVideo = 0;
  const arrival = new Map<AccessUnit, number>();
  for (const u of units) {
    if (u.track === "video") lastVideo = Math.max(lastVideo, u.dts + random() * 8100);
    arrival.set(u, u.track === "video" ? lastVideo : u.pts);
  }
  return [...units].sort((a, b) => arrival.get(a)! - arrival.get(b)!);
}

describe("TsMuxer structure (ISO/IEC 13818-1)", () => {
  test("sources from ffmpeg: 60 frames (2 keyframes) and 2 s of 20 ms Opus packets", () => {
    expect(VIDEO.length).toBe(60);
    expect(VIDEO.filter((u) => u.keyframe).length).toBe(2);
    expect(AUDIO.length).toBeGreaterThanOrEqual(100);
    expect(AUDIO.every((u) => u.samples === 960)).toBe(true);
  });

  test("PAT and PMT are byte for byte ffmpeg's (video+Opus, video only), CRCs verify", () => {
    for (const [file, options] of [["av.mpegts", AV], ["video-only.mpegts", { video: true }]] as const) {
      const ffmpeg = readFixture(file); // packet 0 is ffmpeg's SDT, 1 its PAT, 2 its PMT
      const ours = new TsMuxer(options).programTables();
      expect(hex(ours.subarray(0, 188))).toBe(hex(ffmpeg.subarray(188, 376)));
      expect(hex(ours.subarray(188, 376))).toBe(hex(ffmpeg.subarray(376, 564)));
      for (const at of [0, 188]) {
        const sectionLength = ((ours[at + 6]! & 0x0f) << 8) | ours[at + 7]!;
        expect(crc32Mpeg2(ours.subarray(at + 5, at + 8 + sectionLength))).toBe(0);
      }
    }
  });

  test("every push returns whole packets; continuity counters count payload packets per PID", () => {
    const muxer = new TsMuxer(AV);
    const outputs = arrivalOrder(SOURCE, 1).map((u) => muxer.push(u));
    for (const out of outputs) expect(out.length % 188).toBe(0);
    const counters = new Map<number, number>();
    for (const p of readPackets(Buffer.concat(outputs))) {
      const last = counters.get(p.pid);
      // 2.4.3.3: +1 per packet with payload; an adaptation-field-only packet repeats the last value
      if (last !== undefined) expect(p.counter).toBe(p.hasPayload ? (last + 1) & 0x0f : last);
      else expect(p.counter).toBe(p.hasPayload ? 0 : 0x0f);
      counters.set(p.pid, p.counter);
    }
    expect([...counters.keys()].sort((a, b) => a - b)).toEqual([0, VIDEO_PID, AUDIO_PID, 0x1000]);
  });

  test("PES payloads carry exactly the units, length fields match, timestamps as pushed", () => {
    const units = arrivalOrder(SOURCE, 2);
    const pes = readPes(readPackets(mux(units)));
    expect(pes.length).toBe(units.length);
    pes.forEach((p, i) => {
      const unit = units[i]!;
      const declared = (p.bytes[4]! << 8) | p.bytes[5]!;
      expect(declared).toBe(p.bytes.length - 6); // so no stuffing inside the payload: it went into adaptation fields
      expect(p.bytes[6]! & 0x04).toBe(0x04); // data_alignment_indicator
      expect([p.pts, p.dts]).toEqual([unit.pts, time(unit)]);
      const body = p.bytes.subarray(9 + p.bytes[8]!);
      if (unit.track === "video") expect(hex(body)).toBe(unit.nalus.map((n) => "00000001" + hex(n)).join(""));
      else expect(hex(body)).toBe(`7fe0${unit.payload.length.toString(16).padStart(2, "0")}${hex(unit.payload)}`);
    });
  });

  test("PCR on every keyframe, at most 40 ms apart, monotonic, never after a DTS still to come", () => {
    // Before the first video frame the PCR can only follow the audio; a first frame late by
    // less than the 100 ms lead still finds the PCR before its DTS.
    for (const seed of [1, 2, 3]) {
      const packets = readPackets(mux(arrivalOrder(SOURCE, seed)));
      const pes = readPes(packets);
      for (const key of pes.filter((p) => p.first.randomAccess && p.pid === VIDEO_PID)) {
        expect(key.first.pcr).toBeDefined();
      }
      const pcrs = packets.filter((p) => p.pcr !== undefined);
      expect(pcrs.every((p) => p.pid === VIDEO_PID && !p.discontinuity)).toBe(true);
      for (let i = 1; i < pcrs.length; i++) {
        const gap = pcrs[i]!.pcr! - pcrs[i - 1]!.pcr!;
        expect(gap).toBeGreaterThanOrEqual(0);
        expect(gap).toBeLessThanOrEqual(40 * 90);
      }
      for (const p of pcrs) {
        for (const q of pes.filter((q) => q.first.index >= p.index).slice(0, 30)) {
          expect(p.pcr!).toBeLessThanOrEqual(q.dts);
        }
      }
    }
  });

  test("PAT/PMT first, before every keyframe, and at least every 100 ms", () => {
    const packets = readPackets(mux(SOURCE));
    expect(packets.slice(0, 2).map((p) => p.pid)).toEqual([0, 0x1000]);
    const pes = readPes(packets);
    for (const key of pes.filter((p) => p.pid === VIDEO_PID && p.first.randomAccess)) {
      expect(packets.slice(key.first.index - 2, key.first.index).map((p) => p.pid)).toEqual([0, 0x1000]);
    }
    const patAt = packets.filter((p) => p.pid === 0).map((p) => p.index);
    const mediaTimeAt = (index: number) => pes.findLast((p) => p.first.index <= index)?.dts ?? FIRST_PTS;
    for (let i = 1; i < patAt.length; i++) {
      expect(mediaTimeAt(patAt[i]!) - mediaTimeAt(patAt[i - 1]!)).toBeLessThanOrEqual(100 * 90 + 1800);
    }
  });

  test("random_access_indicator: keyframes and every Opus packet, not on other frames", () => {
    const pes = readPes(readPackets(mux(SOURCE)));
    const video = pes.filter((p) => p.pid === VIDEO_PID);
    expect(video.map((p) => p.first.randomAccess)).toEqual(VIDEO.map((u) => u.keyframe));
    expect(pes.filter((p) => p.pid === AUDIO_PID).every((p) => p.first.randomAccess)).toBe(true);
  });

  test("low frame rate video: PCR-only packets on the video PID keep the PCR within 40 ms", () => {
    const slow = VIDEO.filter((_, i) => i % 3 === 0); // 10 fps
    const packets = readPackets(mux(interleave(slow, AUDIO)));
    const pcrOnly = packets.filter((p) => p.pcr !== undefined && !p.hasPayload);
    expect(pcrOnly.length).toBeGreaterThan(20);
    expect(pcrOnly.every((p) => p.pid === VIDEO_PID)).toBe(true);
    const pcrs = packets.flatMap((p) => (p.pcr !== undefined ? [p.pcr] : []));
    for (let i = 1; i < pcrs.length; i++) expect(pcrs[i]! - pcrs[i - 1]!).toBeLessThanOrEqual(40 * 90);
  });

  test("audio only: the PCR rides on every Opus PES", () => {
    const packets = readPackets(mux(AUDIO.slice(0, 10), { audio: { channels: 1 } }));
    const pes = readPes(packets);
    expect(pes.length).toBe(10);
    expect(pes.every((p) => p.pid === AUDIO_PID && p.first.pcr === p.pts - PCR_LEAD_TICKS)).toBe(true);
  });

  test("a timestamp jump back of minutes: PCR follows with discontinuity_indicator", () => {
    const restarted = VIDEO.slice(0, 30).map((u) => ({ ...u, pts: u.pts + 60 * 90_000, dts: u.dts + 60 * 90_000 }));
    const packets = readPackets(mux([...restarted, ...VIDEO.slice(30)], { video: true }));
    const flagged = packets.filter((p) => p.discontinuity);
    expect(flagged.length).toBe(1);
    expect(flagged[0]!.pcr).toBe(VIDEO[30]!.dts - PCR_LEAD_TICKS);
  });
});

describe("TsMuxer bytes for hand-made units", () => {
  const SPS = Uint8Array.of(0x67, 0x42, 0x00, 0x1f);
  const PPS = Uint8Array.of(0x68, 0xce, 0x3c, 0x80);
  const IDR = Uint8Array.of(0x65, 0x88, 0x84, 0x00);
  const keyframe: VideoAccessUnit = {
    track: "video",
    pid: 0x44,
    pts: 90_000,
    dts: 90_000,
    keyframe: true,
    nalus: [SPS, PPS, IDR],
  };
  const PCR_81000 = "00009e347e00"; // 90_000 - 100 ms lead = 81_000

  test("keyframe: PAT, PMT, then one packet with RAI + PCR, stuffing, PES with an inserted AUD", () => {
    const out = new TsMuxer({ video: true }).push(keyframe);
    expect(out.length).toBe(3 * 188);
    const packet = out.subarray(376);
    const pes = "000001e00026" + "8480" + "05" + "21000" + "5bf21" + "0000000109f0" + "0000000167" + "42001f" +
      "0000000168ce3c80" + "000000016588" + "8400";
    const stuffing = "ff".repeat(188 - 4 - 2 - 6 - pes.length / 2);
    expect(hex(packet)).toBe("47410030" + "8b" + "50" + PCR_81000 + stuffing + pes);
  });

  test("a unit that has its AUD keeps it (no second one); PTS != DTS writes both", () => {
    const unit: VideoAccessUnit = {
      ...keyframe,
      keyframe: false,
      pts: 93_000,
      dts: 90_000,
      nalus: [Uint8Array.of(0x09, 0x30), Uint8Array.of(0x41, 0x9a)],
    };
    const out = new TsMuxer({ video: true }).push(unit);
    const pes = "000001e00019" + "84c00a" + "310005d691" + "110005bf21" + "000000010930" + "00000001419a";
    expect(hex(out.subarray(376)).endsWith(pes)).toBe(true);
    expect(hex(out.subarray(376, 382))).toBe("47410030" + "98" + "10"); // PCR, no random access
  });

  test("Opus with video present: a PCR-only packet on the video PID, then the Opus PES with RAI", () => {
    const opus: AudioAccessUnit = {
      track: "audio",
      pid: 0x44,
      pts: 90_000,
      samples: 960,
      payload: Uint8Array.of(0xfc, 1, 2),
    };
    const out = new TsMuxer(AV).push(opus);
    expect(out.length).toBe(4 * 188); // PAT, PMT, PCR, Opus
    // adaptation field only: counter 15 so that the first payload packet's 0 follows it
    expect(hex(out.subarray(2 * 188, 3 * 188))).toBe("4701002f" + "b7" + "10" + PCR_81000 + "ff".repeat(176));
    const pes = "000001bd000e" + "8480052100" + "05bf21" + "7fe003" + "fc0102";
    expect(hex(out.subarray(3 * 188))).toBe("47410130" + "a3" + "40" + "ff".repeat(162) + pes);
  });

  test("a unit spanning packets: later packets have no adaptation field, the last one is stuffed", () => {
    const big: VideoAccessUnit = { ...keyframe, keyframe: false, nalus: [new Uint8Array(400).fill(0x41)] };
    const packets = readPackets(new TsMuxer({ video: true }).push(big)).slice(2);
    const pesLength = 14 + 6 + 4 + 400; // header, AUD, start code, NAL
    expect(packets.length).toBe(Math.ceil((pesLength + 8) / 184));
    expect(packets.map((p) => [p.unitStart, p.counter])).toEqual([[true, 0], [false, 1], [false, 2]]);
    const middle = new TsMuxer({ video: true }).push(big).subarray(3 * 188, 4 * 188);
    expect(hex(middle.subarray(0, 4))).toBe("47010011"); // payload only
    expect(packets.reduce((n, p) => n + p.payload.length, 0)).toBe(pesLength);
  });

  test("PTS near 2^33 is written as is", () => {
    const unit: AudioAccessUnit = {
      track: "audio",
      pid: 1,
      pts: 2 ** 33 - 1,
      samples: 960,
      payload: Uint8Array.of(0xfc),
    };
    const pes = readPes(readPackets(new TsMuxer({ audio: { channels: 2 } }).push(unit)));
    expect(pes[0]!.pts).toBe(2 ** 33 - 1);
  });

  test("refuses what it cannot write, saying why", () => {
    expect(() => new TsMuxer({})).toThrow(/needs a video or an audio track/);
    expect(() => new TsMuxer({ video: true, psiIntervalMs: 0 })).toThrow(/psiIntervalMs must be > 0/);
    const opus: AudioAccessUnit = { track: "audio", pid: 1, pts: 0, samples: 960, payload: Uint8Array.of(0xfc) };
    expect(() => new TsMuxer({ video: true }).push(opus)).toThrow(/for the audio track, but was created without one/);
    expect(() => new TsMuxer({ video: true }).push({ ...keyframe, dts: -1 })).toThrow(
      /video dts must be an integer in 0 .. 2\^33 - 1/,
    );
    expect(() => new TsMuxer({ video: true }).push({ ...keyframe, pts: 2 ** 33 })).toThrow(/video pts/);
  });
});

describe("TsMuxer output read by others", () => {
  test("ffprobe: h264 + opus (2 channels), every packet with the PTS pushed; ffmpeg decodes it without error", () => {
    const file = join(DIR, "out.mpegts");
    writeFileSync(file, mux(arrivalOrder(SOURCE, 4)));
    const probe = Bun.spawnSync(["ffprobe", "-v", "error", "-show_streams", "-show_packets", "-of", "json", file]);
    expect(probe.stderr.toString()).toBe("");
    const info = JSON.parse(probe.stdout.toString());
    const streams = info.streams.map((
      s: { codec_name: string; channels?: number },
    ) => [s.codec_name, s.channels ?? null]);
    expect(streams).toEqual([["h264", null], ["opus", 2]]);
    const packets = info.packets as Array<{ codec_type: string; pts: number; flags: string }>;
    const ptsOf = (kind: string) => packets.filter((p) => p.codec_type === kind).map((p) => Number(p.pts));
    expect(ptsOf("video").sort((a, b) => a - b)).toEqual(
      arrivalOrder(SOURCE, 4).filter((u) => u.track === "video").map((u) => u.pts),
    );
    expect(ptsOf("audio")).toEqual(AUDIO.map((u) => u.pts));
    const decode = Bun.spawnSync(["ffmpeg", "-v", "error", "-threads", "1", "-i", file, "-f", "null", "-"]);
    expect(decode.stderr.toString()).toBe("");
    expect(decode.exitCode).toBe(0);
  });

  const strip = (u: AccessUnit) =>
    u.track === "video"
      ? { ...u, pid: VIDEO_PID, nalus: u.nalus.filter((n) => (n[0]! & 0x1f) !== 9).map(hex) }
      : { ...u, pid: AUDIO_PID, payload: hex(u.payload) };

  test("round trip through TsDemuxer: the same units back (AUDs aside), in any chunking", () => {
    const withoutAuds = SOURCE.map((
      u,
    ) => (u.track === "video" ? { ...u, nalus: u.nalus.filter((n) => (n[0]! & 0x1f) !== 9) } : u));
    const bytes = mux(withoutAuds);
    const random = seededRandom(5);
    const demuxer = new TsDemuxer();
    const events: DemuxEvent[] = [];
    for (let at = 0; at < bytes.length;) {
      const size = 1 + Math.floor(random() * 1000);
      events.push(...demuxer.push(bytes.subarray(at, at + size)));
      at += size;
    }
    events.push(...demuxer.flush());
    const units = events.flatMap((e) => (e.type === "unit" ? [e.unit] : []));
    expect(units.map(strip)).toEqual(withoutAuds.map(strip));
    expect(demuxer.stats).toMatchObject({ continuityErrors: 0, crcErrors: 0, droppedUnits: 0 });
    const tracks = events.find((e) => e.type === "tracks");
    expect(tracks?.type === "tracks" && tracks.tracks.map((t) => [t.pid, t.codec])).toEqual([[VIDEO_PID, "h264"], [
      AUDIO_PID,
      "opus",
    ]]);
  });
});

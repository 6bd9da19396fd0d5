import { describe, expect, test } from "bun:test";
import { PTS_WRAP, type TrackInfo } from "../../lib/accessUnit.ts";
import {
  accessUnitsFromPes,
  addOpusSamples,
  h264AccessUnit,
  opusAccessUnits,
} from "../../lib/mpegts/accessUnitsFromPes.ts";
import { opusControlHeader } from "../../bench/lib/mpegts/tsBuilders.ts";

const H264: TrackInfo = { pid: 0x100, streamType: 0x1b, kind: "video", codec: "h264", playable: true };
const OPUS: TrackInfo = { pid: 0x101, streamType: 0x06, kind: "audio", codec: "opus", playable: true };
const CELT_20MS = 0xfc; // TOC config 31 (CELT FB 20 ms), stereo, code 0 -> 960 samples
const CELT_10MS_X2 = 0xf5; // config 30 (10 ms), mono, code 1 -> 2 x 480 samples
const SILK_60MS = 0x18; // config 3 (SILK NB 60 ms), code 0 -> 2880 samples

/** An Opus-in-TS PES payload of packets given by their bytes. */
const opusPayload = (...packets: number[][]) =>
  Uint8Array.from(packets.flatMap((p) => [...opusControlHeader(p.length), ...p]));

describe("Opus: one unit per packet, timed by the TOC durations before it", () => {
  test("PTS steps by samples * 90000 / 48000", () => {
    const { units, error } = opusAccessUnits(
      0x101,
      126000,
      opusPayload([CELT_20MS, 1], [CELT_10MS_X2, 2, 3], [SILK_60MS, 4], [CELT_20MS]),
    );
    expect(error).toBeUndefined();
    expect(units.map((u) => [u.pts, u.samples, [...u.payload]])).toEqual([
      [126000, 960, [CELT_20MS, 1]],
      [127800, 960, [CELT_10MS_X2, 2, 3]], // + 1800 ticks (20 ms)
      [129600, 2880, [SILK_60MS, 4]],
      [135000, 960, [CELT_20MS]], // + 5400 ticks (60 ms)
    ]);
    expect(units.every((u) => u.track === "audio" && u.pid === 0x101)).toBe(true);
  });

  test("across the 33-bit wrap the PTS wraps mod 2^33", () => {
    const start = PTS_WRAP - 2000;
    const { units } = opusAccessUnits(0x101, start, opusPayload([CELT_20MS], [CELT_20MS], [CELT_20MS]));
    expect(units.map((u) => u.pts)).toEqual([PTS_WRAP - 2000, PTS_WRAP - 200, 1600]);
    expect(addOpusSamples(PTS_WRAP - 1, 120)).toBe(224); // 2.5 ms = 225 ticks
    expect(addOpusSamples(PTS_WRAP - 1800, 960)).toBe(0);
  });

  test("a malformed control header drops the rest of the PES, keeps what came before", () => {
    const payload = Uint8Array.from([...opusPayload([CELT_20MS, 1]), 0x12, 0x34, ...opusPayload([CELT_20MS, 2])]);
    const { units, error } = opusAccessUnits(0x101, 0, payload);
    expect(units.map((u) => [...u.payload])).toEqual([[CELT_20MS, 1]]);
    expect(error).toBe("PID 257: Opus control header prefix 0x7FE0 missing at byte 5 of 12; rest of the PES dropped");
  });

  test("a malformed Opus packet (code 3, 0 frames) drops the rest: later timing is unknown", () => {
    const { units, error } = opusAccessUnits(0x101, 0, opusPayload([CELT_20MS], [0xff, 0x00], [CELT_20MS]));
    expect(units.length).toBe(1);
    expect(error).toMatch(/PID 257: malformed Opus packet 2 of 3 \(2 bytes, TOC 255\); rest of the PES dropped/);
  });

  test("an empty Opus packet (au_size 0) is malformed (RFC 6716 R1)", () => {
    const { units, error } = opusAccessUnits(0x101, 0, opusPayload([]));
    expect(units).toEqual([]);
    expect(error).toMatch(/malformed Opus packet 1 of 1 \(0 bytes, TOC none\)/);
  });
});

describe("H.264: one unit per PES", () => {
  const AU = Uint8Array.of(
    0,
    0,
    0,
    1,
    0x09,
    0xf0,
    0,
    0,
    0,
    1,
    0x67,
    0x42,
    0,
    0,
    1,
    0x68,
    0xce,
    0,
    0,
    1,
    0x65,
    0x88,
    0x80,
  );

  test("NAL units, keyframe from the IDR, DTS = PTS without a DTS", () => {
    const unit = h264AccessUnit(0x100, 3000, undefined, AU);
    if (typeof unit === "string") throw new Error(unit);
    expect(unit).toMatchObject({ track: "video", pid: 0x100, pts: 3000, dts: 3000, keyframe: true });
    expect(unit.nalus.map((n) => n[0])).toEqual([0x09, 0x67, 0x68, 0x65]);
  });

  test("DTS kept when given (B-frames)", () => {
    expect(h264AccessUnit(0x100, 9000, 3000, Uint8Array.of(0, 0, 1, 0x41, 1))).toMatchObject({
      pts: 9000,
      dts: 3000,
      keyframe: false,
    });
  });

  test("a PES without NAL units is an error", () => {
    expect(h264AccessUnit(0x100, 1, undefined, Uint8Array.of(1, 2, 3))).toBe(
      "PID 256: H.264 PES of 3 bytes (pts 1) holds no NAL unit",
    );
  });
});

describe("accessUnitsFromPes", () => {
  test("a PES without PTS is a pes error with no units", () => {
    const result = accessUnitsFromPes(H264, {
      streamId: 0xe0,
      pts: undefined,
      dts: undefined,
      payload: Uint8Array.of(0, 0, 1, 0x65),
    });
    expect(result).toEqual({ units: [], error: { kind: "pes", message: "PID 256: PES without PTS dropped" } });
  });

  test("routes by codec and tags errors by codec", () => {
    const video = accessUnitsFromPes(H264, { streamId: 0xe0, pts: 1, dts: undefined, payload: new Uint8Array(3) });
    expect(video.error?.kind).toBe("h264");
    const audio = accessUnitsFromPes(OPUS, { streamId: 0xbd, pts: 1, dts: undefined, payload: Uint8Array.of(0x7f) });
    expect(audio.error?.kind).toBe("opus");
    expect(
      accessUnitsFromPes(OPUS, { streamId: 0xbd, pts: 1, dts: undefined, payload: opusPayload([CELT_20MS]) }).units
        .length,
    ).toBe(1);
  });

  test("a track that is not followed is a programming error", () => {
    const aac: TrackInfo = { pid: 0x101, streamType: 0x0f, kind: "audio", codec: "aac", playable: false };
    expect(() => accessUnitsFromPes(aac, { streamId: 0xc0, pts: 1, dts: undefined, payload: new Uint8Array(1) }))
      .toThrow(/aac/);
  });
});

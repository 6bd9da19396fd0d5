import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AccessUnit } from "../../lib/accessUnit.ts";
import { crc32Mpeg2 } from "../../lib/mpegts/crc32.ts";
import { TsDemuxer } from "../../lib/mpegts/tsDemuxer.ts";
import { TsMuxer } from "../../lib/mpegts/tsMuxer.ts";
import { readFixture } from "../fixtures/readFixture.ts";

function unitsOf(bytes: Uint8Array): { units: AccessUnit[]; stats: TsDemuxer["stats"] } {
  const demuxer = new TsDemuxer();
  const events = [...demuxer.push(bytes), ...demuxer.flush()];
  return { units: events.flatMap((e) => (e.type === "unit" ? [e.unit] : [])), stats: demuxer.stats };
}

function mux(units: AccessUnit[], options = { video: true, audio: { channels: 2 as const } }): Uint8Array {
  const muxer = new TsMuxer(options);
  return Buffer.concat(units.map((u) => muxer.push(u)));
}

const withoutAud = (u: AccessUnit) =>
  u.track === "video" ? { ...u, nalus: u.nalus.filter((n) => (n[0]! & 0x1f) !== 9).map((n) => [...n]) } : { ...u, payload: [...u.payload] };

const SOURCE = unitsOf(readFixture("av.mpegts")).units;

describe("TsMuxer", () => {
  test("round trip through our demuxer gives the same units (AUDs aside)", () => {
    const muxed = mux(SOURCE);
    const back = unitsOf(muxed);
    expect(back.stats).toMatchObject({ continuityErrors: 0, crcErrors: 0, droppedUnits: 0, resyncs: 0 });
    expect(back.units.map(withoutAud)).toEqual(SOURCE.map(withoutAud));
  });

  test("whole packets, sync bytes, continuity counters per PID, valid PSI CRCs, PCR on keyframes", () => {
    const muxed = mux(SOURCE);
    expect(muxed.length % 188).toBe(0);
    const counters = new Map<number, number>();
    let pcrOnKeyframe = 0;
    for (let i = 0; i < muxed.length; i += 188) {
      const p = muxed.subarray(i, i + 188);
      expect(p[0]).toBe(0x47);
      const pid = ((p[1]! & 0x1f) << 8) | p[2]!;
      const cc = p[3]! & 0x0f;
      if (counters.has(pid)) expect(cc).toBe((counters.get(pid)! + 1) & 0x0f);
      counters.set(pid, cc);
      if (pid === 0 || pid === 0x1000) {
        const length = 3 + (((p[6]! & 0x0f) << 8) | p[7]!);
        expect(crc32Mpeg2(p.subarray(5, 5 + length))).toBe(0);
      }
      const hasField = (p[3]! & 0x20) !== 0;
      if (pid === 0x100 && hasField && p[4]! > 0 && p[5]! & 0x40) {
        expect(p[5]! & 0x10).toBe(0x10); // random access packets carry a PCR
        pcrOnKeyframe++;
      }
    }
    expect(pcrOnKeyframe).toBe(2);
    expect([...counters.keys()].sort()).toEqual([0, 0x100, 0x101, 0x1000]);
  });

  test("a small Opus unit: byte-exact PES header and control header", () => {
    const muxer = new TsMuxer({ audio: { channels: 2 } });
    const bytes = muxer.push({ track: "audio", pid: 0, pts: 90_000, samples: 960, payload: Uint8Array.of(0xfc, 1, 2) });
    const audio = bytes.subarray(188 * 2); // after PAT and PMT
    expect(audio.length).toBe(188);
    const pes = audio.subarray(audio.length - 20); // stuffing first, the PES fills the packet's end
    expect([...pes]).toEqual([
      0, 0, 1, 0xbd, 0, 14, 0x80, 0x80, 5, // PES header: private_stream_1, length 14, PTS only
      0x21, 0x00, 0x05, 0xbf, 0x21, // PTS 90000 in the 5-byte marker layout
      0x7f, 0xe0, 3, // Opus control header, au_size 3
      0xfc, 1, 2,
    ]);
  });

  test("ffprobe reads the muxed stream with the right codecs, counts and timestamps", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wisp-mux-"));
    try {
      const file = join(dir, "out.mpegts");
      writeFileSync(file, mux(SOURCE));
      const probe = Bun.spawnSync(["ffprobe", "-v", "error", "-show_streams", "-show_packets", "-of", "json", file]);
      const info = JSON.parse(probe.stdout.toString());
      const streams = info.streams.map((s: { codec_name: string; channels?: number }) => [s.codec_name, s.channels ?? null]);
      expect(streams).toEqual([["h264", null], ["opus", 2]]);
      const packets = info.packets as Array<{ codec_type: string; pts: number }>;
      const videoPts = packets.filter((p) => p.codec_type === "video").map((p) => Number(p.pts));
      const audioPts = packets.filter((p) => p.codec_type === "audio").map((p) => Number(p.pts));
      expect(videoPts).toEqual(SOURCE.filter((u) => u.track === "video").map((u) => u.pts));
      expect(audioPts).toEqual(SOURCE.filter((u) => u.track === "audio").map((u) => u.pts));
      const decode = Bun.spawnSync(["ffmpeg", "-v", "error", "-i", file, "-f", "null", "-"]);
      expect(decode.exitCode).toBe(0);
      expect(decode.stderr.toString()).toBe("");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

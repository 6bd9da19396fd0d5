import { describe, expect, test } from "bun:test";
import { crc32Mpeg2 } from "../../lib/mpegts/crc32.ts";
import { firstProgram, parseDescriptors, parsePat, parsePmt, registrationFormat } from "../../lib/mpegts/psi.ts";
import { readFixture } from "../fixtures/readFixture.ts";
import { OPUS_REGISTRATION, packetsOf, patSection, pidOf, pmtSection } from "../../bench/lib/mpegts/tsBuilders.ts";

/** The first section on a PID of a fixture (pointer_field 0, one packet, as ffmpeg writes PSI). */
function fixtureSection(file: string, pid: number): Uint8Array {
  const packet = packetsOf(readFixture(file)).find((p) => pidOf(p) === pid)!;
  const length = 3 + (((packet[6]! & 0x0f) << 8) | packet[7]!);
  return packet.slice(5, 5 + length);
}

/** Re-signs a section after editing it. */
function resign(section: Uint8Array): Uint8Array {
  new DataView(section.buffer, section.byteOffset).setUint32(
    section.length - 4,
    crc32Mpeg2(section.subarray(0, section.length - 4)),
  );
  return section;
}

describe("PAT (ISO/IEC 13818-1 2.4.4.3)", () => {
  test("ffmpeg's PAT: program 1 -> PMT PID 0x1000", () => {
    const pat = parsePat(fixtureSection("av.mpegts", 0));
    expect(pat).toEqual({
      ok: true,
      current: true,
      value: { transportStreamId: 1, version: 0, programs: [{ programNumber: 1, pid: 0x1000 }] },
    });
  });

  test("first program skips program_number 0 (the network PID)", () => {
    const pat = parsePat(patSection([[0, 0x10], [7, 0x200], [8, 0x300]], 5));
    if (!pat.ok) throw new Error(pat.message);
    expect(pat.value.version).toBe(5);
    expect(firstProgram(pat.value)).toEqual({ programNumber: 7, pid: 0x200 });
    expect(firstProgram({ transportStreamId: 1, version: 0, programs: [{ programNumber: 0, pid: 0x10 }] }))
      .toBeUndefined();
  });

  test("a flipped bit fails the CRC", () => {
    const section = fixtureSection("av.mpegts", 0);
    section[9]! ^= 0x01;
    expect(parsePat(section)).toEqual({ ok: false, error: "crc", message: "PAT: CRC_32 mismatch" });
  });

  test.each([
    ["wrong table_id", (s: Uint8Array) => (s[0] = 0x02), /table_id 2 is not 0/],
    ["section_syntax_indicator 0", (s: Uint8Array) => (s[1] = s[1]! & 0x7f), /section_syntax_indicator is 0/],
  ])("malformed: %s", (_name, damage, message) => {
    const section = patSection([[1, 0x1000]]);
    damage(section);
    const result = parsePat(resign(section));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result).toMatchObject({ error: "syntax", message: expect.stringMatching(message) });
  });

  test("a program loop that is not a multiple of 4 bytes", () => {
    const s = patSection([[1, 0x1000]]);
    const odd = resign(Uint8Array.from([s[0]!, s[1]!, s[2]! + 1, ...s.subarray(3, 12), 0xee, 0, 0, 0, 0]));
    expect(parsePat(odd)).toMatchObject({
      ok: false,
      error: "syntax",
      message: expect.stringMatching(/not a multiple of 4/),
    });
  });
});

describe("PMT (ISO/IEC 13818-1 2.4.4.8)", () => {
  test("ffmpeg's PMT: H.264 on 0x100, Opus (registration 'Opus' + extension descriptor) on 0x101", () => {
    const pmt = parsePmt(fixtureSection("av.mpegts", 0x1000));
    if (!pmt.ok) throw new Error(pmt.message);
    expect(pmt.current).toBe(true);
    const { streams, ...rest } = pmt.value;
    expect(rest).toEqual({ programNumber: 1, version: 0, pcrPid: 0x100, descriptors: [] });
    expect(streams.map((s) => [s.streamType, s.pid, s.descriptors.map((d) => [d.tag, ...d.data])])).toEqual([
      [0x1b, 0x100, []],
      [0x06, 0x101, [[0x05, 0x4f, 0x70, 0x75, 0x73], [0x7f, 0x80, 0x02]]], // 'Opus'; DVB extension: Opus, 2 channels
    ]);
    expect(registrationFormat(streams[1]!.descriptors)).toBe("Opus");
  });

  test("built PMT round trip: version, program number, several streams", () => {
    const section = pmtSection({
      programNumber: 9,
      version: 31,
      pcrPid: 0x1ffe,
      streams: [
        { streamType: 0x0f, pid: 0x20 },
        { streamType: 0x06, pid: 0x1fff, descriptors: OPUS_REGISTRATION },
      ],
    });
    const pmt = parsePmt(section);
    if (!pmt.ok) throw new Error(pmt.message);
    expect(pmt.value).toMatchObject({ programNumber: 9, version: 31, pcrPid: 0x1ffe });
    expect(pmt.value.streams.map((s) => [s.streamType, s.pid])).toEqual([[0x0f, 0x20], [0x06, 0x1fff]]);
  });

  test("current_next_indicator 0 is passed on as not current", () => {
    const pmt = parsePmt(pmtSection({ pcrPid: 0x100, streams: [], current: false }));
    expect(pmt).toMatchObject({ ok: true, current: false });
  });

  test("a flipped byte fails the CRC", () => {
    const section = fixtureSection("av.mpegts", 0x1000);
    section[13]! ^= 0xff;
    expect(parsePmt(section)).toEqual({ ok: false, error: "crc", message: "PMT: CRC_32 mismatch" });
  });

  test.each([
    ["program_info_length past the end", (s: Uint8Array) => (s[11] = 0x40), /program_info_length overruns/],
    ["ES_info_length past the end", (s: Uint8Array) => (s[16] = 0x30), /ES_info_length of PID 256 overruns/],
  ])("malformed: %s", (_name, damage, message) => {
    const section = pmtSection({ pcrPid: 0x100, streams: [{ streamType: 0x1b, pid: 0x100 }] });
    damage(section);
    expect(parsePmt(resign(section))).toMatchObject({
      ok: false,
      error: "syntax",
      message: expect.stringMatching(message),
    });
  });

  test("a too-short section", () => {
    const s = resign(Uint8Array.of(0x02, 0xb0, 0x09, 0, 1, 0xc1, 0, 0, 0xe1, 0, 0, 0, 0));
    expect(parsePmt(s)).toMatchObject({
      ok: false,
      error: "syntax",
      message: expect.stringMatching(/no room for PCR_PID/),
    });
  });
});

describe("descriptors (2.6)", () => {
  test("tag/length/data; one running past the loop is cut off", () => {
    const d = parseDescriptors(Uint8Array.of(0x05, 4, 0x4f, 0x70, 0x75, 0x73, 0x0a, 5, 1, 2));
    expect(d.map((x) => [x.tag, ...x.data])).toEqual([[0x05, 0x4f, 0x70, 0x75, 0x73], [0x0a, 1, 2]]);
  });

  test("registration format: needs 4 bytes", () => {
    expect(registrationFormat(parseDescriptors(Uint8Array.of(0x05, 4, 0x48, 0x45, 0x56, 0x43)))).toBe("HEVC");
    expect(registrationFormat(parseDescriptors(Uint8Array.of(0x05, 2, 0x4f, 0x70)))).toBeUndefined();
    expect(registrationFormat([])).toBeUndefined();
  });
});

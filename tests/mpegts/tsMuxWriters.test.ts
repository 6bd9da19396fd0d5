import { describe, expect, test } from "bun:test";
import { crc32Mpeg2 } from "../../lib/mpegts/crc32.ts";
import {
  opusControlHeader,
  patSection,
  pcrBytes,
  pesPacket,
  pmtSection,
  psiPacket,
  timestampBytes,
  writeTsPacket,
} from "../../lib/mpegts/tsMuxWriters.ts";

const hex = (bytes: Iterable<number>) => Buffer.from([...bytes]).toString("hex");

describe("timestampBytes (ISO/IEC 13818-1 2.4.3.7)", () => {
  test.each([
    { prefix: 0x2, ts: 0, expected: "2100010001" },
    { prefix: 0x2, ts: 90_000, expected: "210005bf21" },
    { prefix: 0x3, ts: 2 ** 33 - 1, expected: "3fffffffff" }, // every bit set, marker bits too
    { prefix: 0x1, ts: 2 ** 30, expected: "1300010001" }, // bit 30 is the lowest of the 3 high bits
    { prefix: 0x2, ts: 2 ** 15, expected: "2100030001" }, // bit 15 is the lowest of the middle 15
  ])("$ts with prefix $prefix", ({ prefix, ts, expected }) => {
    expect(hex(timestampBytes(prefix, ts))).toBe(expected);
  });
});

describe("pcrBytes (2.4.3.4)", () => {
  test.each([
    { base: 0, expected: "000000007e00" },
    { base: 1, expected: "00000000fe00" }, // bit 0 of the base is the top bit of byte 4
    { base: 2 ** 33 - 1, expected: "fffffffffe00" },
    { base: 2 ** 25, expected: "010000007e00" },
  ])("base $base", ({ base, expected }) => {
    expect(hex(pcrBytes(base))).toBe(expected);
  });
});

describe("opusControlHeader", () => {
  test.each([
    { size: 0, expected: "7fe000" },
    { size: 3, expected: "7fe003" },
    { size: 254, expected: "7fe0fe" },
    { size: 255, expected: "7fe0ff00" }, // a run of 0xFF always ends with a byte below 255
    { size: 510, expected: "7fe0ffff00" },
    { size: 600, expected: "7fe0ffff5a" },
  ])("au_size $size", ({ size, expected }) => {
    expect(hex(opusControlHeader(size))).toBe(expected);
  });
});

describe("pesPacket (2.4.3.6)", () => {
  test("PTS only, length set, data_alignment_indicator", () => {
    const pes = pesPacket({ streamId: 0xbd, pts: 90_000, dts: 90_000, video: false }, [
      Uint8Array.of(1, 2),
      Uint8Array.of(3),
    ]);
    expect(hex(pes)).toBe("000001bd000b8480052100" + "05bf21" + "010203");
  });

  test("PTS and DTS when they differ", () => {
    const pes = pesPacket({ streamId: 0xe0, pts: 93_000, dts: 90_000, video: true }, [Uint8Array.of(9)]);
    // length 3 + 10 + 1 = 14; PTS_DTS_flags '11'; PTS prefix 0011, DTS prefix 0001
    expect(hex(pes)).toBe(
      "000001e0000e84c00a" + hex(timestampBytes(3, 93_000)) + hex(timestampBytes(1, 90_000)) + "09",
    );
  });

  test("video longer than the 16-bit length field: PES_packet_length 0", () => {
    const pes = pesPacket({ streamId: 0xe0, pts: 0, dts: 0, video: true }, [new Uint8Array(70_000)]);
    expect(hex(pes.subarray(4, 6))).toBe("0000");
    expect(pes.length).toBe(14 + 70_000);
  });

  test("the longest bounded PES still carries its length", () => {
    const pes = pesPacket({ streamId: 0xe0, pts: 0, dts: 0, video: true }, [new Uint8Array(0xffff - 8)]);
    expect(hex(pes.subarray(4, 6))).toBe("ffff");
  });

  test("audio that does not fit the length field is refused, not made unbounded", () => {
    expect(() => pesPacket({ streamId: 0xbd, pts: 0, dts: 0, video: false }, [new Uint8Array(70_000)])).toThrow(
      /only video PES may be unbounded/,
    );
  });
});

describe("writeTsPacket (2.4.3.2, adaptation field 2.4.3.4/2.4.3.5)", () => {
  const packet = (payloadLength: number, fields?: Parameters<typeof writeTsPacket>[2]["fields"]) => {
    const out = new Uint8Array(188);
    writeTsPacket(out, 0, {
      pid: 0x101,
      payloadUnitStart: true,
      counter: 5,
      fields,
      payload: new Uint8Array(payloadLength).fill(0xaa),
    });
    return out;
  };

  test("a full payload: no adaptation field", () => {
    const p = packet(184);
    expect(hex(p.subarray(0, 5))).toBe("47410115aa");
  });

  test("183 payload bytes: adaptation_field_length 0 is the single stuffing byte", () => {
    const p = packet(183);
    expect(hex(p.subarray(0, 6))).toBe("47410135" + "00" + "aa");
  });

  test("shorter payloads: flags byte 0 then 0xFF stuffing up to the payload", () => {
    const p = packet(180);
    expect(hex(p.subarray(0, 9))).toBe("47410135" + "03" + "00ffff" + "aa");
  });

  test("fields and stuffing together: flags, PCR, then stuffing", () => {
    const p = packet(170, { randomAccess: true, pcr: 1 });
    expect(hex(p.subarray(0, 19))).toBe("47410135" + "0d" + "50" + "00000000fe00" + "ffffffffffff" + "aa");
  });

  test("adaptation field only (no payload): control '10', length 183", () => {
    const p = packet(0, { pcr: 0, discontinuity: true });
    expect(hex(p.subarray(0, 13))).toBe("47410125" + "b7" + "90" + "000000007e00" + "ff");
    expect(p.subarray(12).every((b) => b === 0xff)).toBe(true);
  });

  test("a payload that leaves no room for the fields is a programming error", () => {
    expect(() => packet(180, { pcr: 0 })).toThrow(/leave 4 for a 8-byte adaptation field/);
  });
});

describe("PSI sections (2.4.4)", () => {
  test("PAT: program 1 on PMT PID 0x1000, byte for byte what ffmpeg writes", () => {
    expect(hex(patSection(1, 0x1000))).toBe("00b00d0001c100000001f0002ab104b2");
  });

  test("PMT: CRC_32 over the whole section comes out 0 (Annex A)", () => {
    const pmt = pmtSection(1, 0x100, [{ streamType: 0x1b, pid: 0x100, descriptors: [] }]);
    expect(crc32Mpeg2(pmt)).toBe(0);
    expect(hex(pmt.subarray(0, 17))).toBe("02b0120001c10000e100f0001be100f000");
  });

  test("psiPacket: pointer_field 0, section, 0xFF to the end", () => {
    const p = psiPacket(0, 7, patSection(1, 0x1000));
    expect(hex(p.subarray(0, 5))).toBe("4740001700");
    expect(p.subarray(5 + 17).every((b) => b === 0xff)).toBe(true);
  });
});

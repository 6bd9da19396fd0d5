import { describe, expect, test } from "bun:test";
import { declaredPesSize, parsePes, readTimestamp } from "../../lib/mpegts/pes.ts";
import { pesBytes, timestampField } from "../../bench/lib/mpegts/tsBuilders.ts";

const PAYLOAD = Uint8Array.of(0, 0, 0, 1, 0x09, 0xf0);

describe("readTimestamp (ISO/IEC 13818-1 2.4.3.6)", () => {
  test.each([0, 1, 90_000, 126_585, 2 ** 30, 2 ** 32 + 12345, 2 ** 33 - 1])(
    "%d survives the 3/15/15-bit split",
    (t) => {
      expect(readTimestamp(Uint8Array.from(timestampField(0b0010, t)), 0)).toBe(t);
    },
  );

  test("ffmpeg's first Opus PES header bytes 21 00 07 d8 61 = 126000", () => {
    expect(readTimestamp(Uint8Array.of(0x21, 0x00, 0x07, 0xd8, 0x61), 0)).toBe(126000);
  });
});

describe("parsePes (2.4.3.6)", () => {
  test("PTS only: DTS undefined, payload after the header", () => {
    const pes = parsePes(pesBytes({ pts: 126585, payload: PAYLOAD }));
    expect(pes).toEqual({ streamId: 0xe0, pts: 126585, dts: undefined, payload: PAYLOAD });
  });

  test("PTS and DTS", () => {
    expect(parsePes(pesBytes({ pts: 132000, dts: 126000, payload: PAYLOAD }))).toMatchObject({
      pts: 132000,
      dts: 126000,
    });
  });

  test("no PTS at all", () => {
    expect(parsePes(pesBytes({ payload: PAYLOAD }))).toMatchObject({ pts: undefined, dts: undefined });
  });

  test("PES_packet_length bounds the payload; bytes after it are not payload", () => {
    const bytes = pesBytes({ streamId: 0xbd, pts: 1, payload: Uint8Array.of(1, 2, 3), bounded: true });
    expect(declaredPesSize(bytes)).toBe(bytes.length);
    const pes = parsePes(Uint8Array.from([...bytes, 0xff, 0xff]));
    expect(pes).toMatchObject({ streamId: 0xbd, payload: Uint8Array.of(1, 2, 3) });
  });

  test("PES_packet_length 0 is unbounded", () => {
    expect(declaredPesSize(pesBytes({ pts: 1, payload: PAYLOAD }))).toBeUndefined();
  });

  test("optional fields other than PTS/DTS (PES_header_data_length beyond them) are skipped", () => {
    const bytes = pesBytes({ pts: 5, payload: PAYLOAD });
    const padded = Uint8Array.from([
      ...bytes.subarray(0, 8),
      bytes[8]! + 3,
      ...bytes.subarray(9, 14),
      0xff,
      0xff,
      0xff,
      ...PAYLOAD,
    ]);
    expect(parsePes(padded)).toMatchObject({ pts: 5, payload: PAYLOAD });
  });

  const damaged = (edit: (b: Uint8Array) => void, o: Parameters<typeof pesBytes>[0] = { pts: 1, payload: PAYLOAD }) => {
    const bytes = pesBytes(o);
    edit(bytes);
    return bytes;
  };
  test.each([
    ["no start code", damaged((b) => (b[2] = 2)), /does not start with packet_start_code_prefix/],
    ["too short", Uint8Array.of(0, 0, 1), /does not start with/],
    ["padding stream has no header", damaged((b) => (b[3] = 0xbe)), /stream_id 0xbe has no PES header/],
    ["private_stream_2 has no header", damaged((b) => (b[3] = 0xbf)), /stream_id 0xbf/],
    [
      "declared longer than received",
      damaged((b) => (b[5] = 200)),
      /PES_packet_length says 206 bytes, only 20 arrived/,
    ],
    ["declared shorter than its header", damaged((b) => (b[5] = 2)), /shorter than its 9-byte header/],
    ["marker bits not '10' (MPEG-1 style)", damaged((b) => (b[6] = 0x0f)), /'10' marker bits/],
    ["PTS_DTS_flags '01'", damaged((b) => (b[7] = 0x40)), /'01' is forbidden/],
    ["header length too small for PTS", damaged((b) => (b[8] = 4)), /cannot hold the 5 bytes/],
    ["header length past the end", damaged((b) => (b[8] = 100)), /PES_header_data_length 100 overruns/],
  ])("malformed: %s", (_name, bytes, message) => {
    expect(parsePes(bytes)).toMatch(message);
  });
});

import { describe, expect, test } from "bun:test";
import {
  GenericNack,
  PictureLossIndication,
  ReceiverEstimatedMaxBitrate,
  RtcpPacketConverter,
  RtcpPayloadSpecificFeedback,
  RtcpReceiverInfo,
  RtcpRrPacket,
  RtcpSenderInfo,
  RtcpSourceDescriptionPacket,
  RtcpSrPacket,
  RtcpTransportLayerFeedback,
  SourceDescriptionChunk,
  SourceDescriptionItem,
} from "werift";
// werift 0.25.2 does not export FullIntraRequest from its package root.
import { FullIntraRequest } from "../../node_modules/werift/lib/rtp/src/rtcp/psfb/fullIntraRequest.js";
import { ntpNow } from "../../lib/rtp/ntpTime.ts";
import {
  buildBye,
  buildSenderReports,
  parseRtcpCompound,
  type ReportBlock,
  type RtcpFeedback,
  type SenderReportFields,
} from "../../lib/rtp/rtcpPackets.ts";
import { seededRandom } from "../../bench/lib/random.ts";

// ---- werift 0.25.2 as the reference writer ----

const weriftNack = (senderSsrc: number, mediaSourceSsrc: number, lost: number[]) =>
  new RtcpTransportLayerFeedback({ feedback: new GenericNack({ senderSsrc, mediaSourceSsrc, lost }) }).serialize();

const weriftPli = (senderSsrc: number, mediaSsrc: number) =>
  new RtcpPayloadSpecificFeedback({ feedback: new PictureLossIndication({ senderSsrc, mediaSsrc }) }).serialize();

/** werift's FIR length field is one word short (its `length` subtracts the header word from the body again). */
function weriftFirAsWritten(senderSsrc: number, fir: { ssrc: number; sequenceNumber: number }[]): Buffer {
  const feedback = new FullIntraRequest({ senderSsrc, mediaSsrc: 0, fir });
  return new RtcpPayloadSpecificFeedback({ feedback }).serialize();
}
/** The same FIR with its length field set as RFC 3550 6.4.1 defines it: packet words minus one. */
function weriftFir(senderSsrc: number, fir: { ssrc: number; sequenceNumber: number }[]): Buffer {
  const packet = weriftFirAsWritten(senderSsrc, fir);
  packet.writeUInt16BE(packet.length / 4 - 1, 2);
  return packet;
}

const weriftRemb = () =>
  new RtcpPayloadSpecificFeedback({
    feedback: new ReceiverEstimatedMaxBitrate({
      senderSsrc: 7,
      mediaSsrc: 0,
      brExp: 3,
      brMantissa: 250_000,
      ssrcNum: 1,
      ssrcFeedbacks: [0x1234],
    }),
  }).serialize();

const weriftSdes = (source: number, text: string) =>
  new RtcpSourceDescriptionPacket({
    chunks: [new SourceDescriptionChunk({ source, items: [new SourceDescriptionItem({ type: 1, text })] })],
  }).serialize();

function weriftBlock(b: ReportBlock): RtcpReceiverInfo {
  return new RtcpReceiverInfo({
    ssrc: b.ssrc,
    fractionLost: b.fractionLost,
    packetsLost: b.cumulativeLost & 0xffffff, // werift writes the 24 bits unsigned
    highestSequence: b.highestSequence,
    jitter: b.jitter,
    lsr: b.lastSenderReport,
    dlsr: b.delaySinceLastSenderReport,
  });
}

const BLOCK_A: ReportBlock = {
  ssrc: 0x11223344,
  fractionLost: 64, // 25 %
  cumulativeLost: 1234,
  highestSequence: (3 << 16) | 65000, // three cycles
  jitter: 90,
  lastSenderReport: 0xdeadbeef,
  delaySinceLastSenderReport: 65536 + 32768, // 1.5 s
};
const BLOCK_B: ReportBlock = {
  ssrc: 0xffffffff,
  fractionLost: 0,
  cumulativeLost: -2, // more duplicates than losses: 0xfffffe on the wire
  highestSequence: 0xffffffff,
  jitter: 0,
  lastSenderReport: 0,
  delaySinceLastSenderReport: 0,
};

const weriftRr = (ssrc: number, blocks: ReportBlock[]) =>
  new RtcpRrPacket({ ssrc, reports: blocks.map(weriftBlock) }).serialize();

// ---- parse: werift writes, we read ----

const RR = weriftRr(0xcafe, [BLOCK_A, BLOCK_B]);
const SDES = weriftSdes(0xcafe, "viewer-cname");
const NACK = weriftNack(0xcafe, 0xbeef, [100, 101, 103, 110, 116]);

const PARSE_CASES: [name: string, datagram: Uint8Array, expected: RtcpFeedback[]][] = [
  [
    "NACK, several BLP bits in one FCI",
    NACK,
    [{ type: "nack", senderSsrc: 0xcafe, mediaSsrc: 0xbeef, lost: [100, 101, 103, 110, 116] }],
  ],
  [
    "NACK, two FCIs across the 65535 -> 0 wrap",
    weriftNack(1, 2, [65534, 65535, 0, 1]), // werift starts a new FCI at 0
    [{ type: "nack", senderSsrc: 1, mediaSsrc: 2, lost: [65534, 65535, 0, 1] }],
  ],
  [
    "NACK, one FCI whose BLP crosses the wrap",
    // werift encodes BLP bits from plain differences, so 65537 and 65540 give PID 65533, BLP bits 1, 3, 6.
    weriftNack(1, 2, [65533, 65535, 65537, 65540]),
    [{ type: "nack", senderSsrc: 1, mediaSsrc: 2, lost: [65533, 65535, 1, 4] }],
  ],
  ["PLI", weriftPli(0x01020304, 0xa0b0c0d0), [{ type: "pli", senderSsrc: 0x01020304, mediaSsrc: 0xa0b0c0d0 }]],
  [
    "FIR with two entries",
    weriftFir(5, [{ ssrc: 0xaaaa0001, sequenceNumber: 7 }, { ssrc: 0xaaaa0002, sequenceNumber: 8 }]),
    [{ type: "fir", senderSsrc: 5, ssrcs: [0xaaaa0001, 0xaaaa0002] }],
  ],
  ["RR with two blocks", RR, [{ type: "receiverReport", senderSsrc: 0xcafe, blocks: [BLOCK_A, BLOCK_B] }]],
  [
    "SR from the peer: its report block",
    new RtcpSrPacket({
      ssrc: 9,
      senderInfo: new RtcpSenderInfo({ ntpTimestamp: ntpNow(0), rtpTimestamp: 1 }),
      reports: [weriftBlock(BLOCK_A)],
    }).serialize(),
    [{ type: "receiverReport", senderSsrc: 9, blocks: [BLOCK_A] }],
  ],
  [
    "compound RR + SDES + NACK + REMB: SDES and REMB skipped",
    Buffer.concat([RR, SDES, NACK, weriftRemb()]),
    [
      { type: "receiverReport", senderSsrc: 0xcafe, blocks: [BLOCK_A, BLOCK_B] },
      { type: "nack", senderSsrc: 0xcafe, mediaSsrc: 0xbeef, lost: [100, 101, 103, 110, 116] },
    ],
  ],
  [
    "compound RR + REMB + PLI: reading goes on after REMB",
    Buffer.concat([weriftRr(3, []), weriftRemb(), weriftPli(3, 4)]),
    [
      { type: "receiverReport", senderSsrc: 3, blocks: [] },
      { type: "pli", senderSsrc: 3, mediaSsrc: 4 },
    ],
  ],
];

describe("parseRtcpCompound reads what werift 0.25.2 writes", () => {
  test.each(PARSE_CASES)("%s", (_name, datagram, expected) => {
    expect(parseRtcpCompound(datagram)).toEqual(expected);
  });

  test("werift's own FIR, length one word short, is malformed: the packet before it survives", () => {
    const fir = weriftFirAsWritten(5, [{ ssrc: 1, sequenceNumber: 0 }, { ssrc: 2, sequenceNumber: 0 }]);
    expect(fir.readUInt16BE(2)).toBe(fir.length / 4 - 2);
    expect(parseRtcpCompound(Buffer.concat([weriftPli(1, 2), fir]))).toEqual([
      { type: "pli", senderSsrc: 1, mediaSsrc: 2 },
    ]);
  });

  test("a last packet with RFC 3550 6.4.1 padding", () => {
    const padded = Buffer.concat([weriftPli(1, 2), Buffer.from([0, 0, 0, 4])]);
    padded[0] = padded[0]! | 0x20; // P bit
    padded.writeUInt16BE(padded.length / 4 - 1, 2);
    expect(parseRtcpCompound(Buffer.concat([NACK, padded]))).toEqual([
      ...PARSE_CASES[0]![2],
      { type: "pli", senderSsrc: 1, mediaSsrc: 2 },
    ]);
  });

  test("a datagram at a non-zero offset in a larger buffer", () => {
    const backing = Buffer.concat([Buffer.alloc(3, 0xff), NACK, Buffer.alloc(5, 0xff)]);
    expect(parseRtcpCompound(backing.subarray(3, 3 + NACK.length))).toEqual(PARSE_CASES[0]![2]);
  });
});

// ---- build: we write, werift reads ----

/** werift 0.25.2 reads SDES chunks to the end of the datagram, past the packet's length; keep the first `count`. */
function weriftCnames(packet: unknown, count: number): [number, string][] {
  const sdes = packet as RtcpSourceDescriptionPacket;
  expect(sdes.type).toBe(202);
  return sdes.chunks.slice(0, count).map((chunk) => {
    expect(chunk.items.map((item) => item.type)).toEqual([1]);
    return [chunk.source, chunk.items[0]!.text];
  });
}

const REPORTS: SenderReportFields[] = [
  {
    ssrc: 0x0a0b0c0d,
    ntpTimestamp: ntpNow(1_700_000_000_123),
    rtpTimestamp: 0xfffffff0,
    packetCount: 4242,
    octetCount: 5_000_000,
  },
  {
    ssrc: 0xffffffff,
    ntpTimestamp: 0xffffffffffffffffn,
    rtpTimestamp: 0,
    packetCount: 2 ** 32 + 3,
    octetCount: 2 ** 32 - 1,
  },
];

describe("buildSenderReports", () => {
  test("werift reads an SR per SSRC, then one SDES with each SSRC's CNAME", () => {
    const datagram = buildSenderReports(REPORTS, "wisp-7f3a");
    const [first, second, sdes, ...rest] = RtcpPacketConverter.deSerialize(Buffer.from(datagram));
    expect(rest).toEqual([]);
    REPORTS.forEach((fields, i) => {
      const sr = [first, second][i] as RtcpSrPacket;
      expect(sr.type).toBe(200);
      expect(sr.ssrc).toBe(fields.ssrc);
      expect(sr.reports).toEqual([]);
      expect(sr.senderInfo.ntpTimestamp).toBe(fields.ntpTimestamp);
      expect(sr.senderInfo.rtpTimestamp).toBe(fields.rtpTimestamp);
      expect(sr.senderInfo.packetCount).toBe(fields.packetCount % 2 ** 32); // counts wrap (RFC 3550 6.4.1)
      expect(sr.senderInfo.octetCount).toBe(fields.octetCount);
    });
    expect(weriftCnames(sdes, 2)).toEqual([
      [0x0a0b0c0d, "wisp-7f3a"],
      [0xffffffff, "wisp-7f3a"],
    ]);
  });

  test("byte-exact for one SSRC: SR length 6, SDES chunk null-terminated and padded", () => {
    const fields = { ssrc: 1, ntpTimestamp: 0x0102030405060708n, rtpTimestamp: 9, packetCount: 10, octetCount: 11 };
    const datagram = buildSenderReports([fields], "ab");
    expect(Buffer.from(datagram).toString("hex")).toBe(
      "80c80006" + "00000001" + "0102030405060708" + "00000009" + "0000000a" + "0000000b" + // SR
        "81ca0003" + "00000001" + "0102" + "6162" + "00000000", // SDES: SSRC, CNAME "ab", end of list + padding
    );
  });

  // Chunk lengths with every remainder mod 4, so one of them needs a whole extra word for its null octet.
  test.each([
    ["empty", ""],
    ["1 byte", "a"],
    ["2 bytes (chunk ends on a word without its null)", "ab"],
    ["3 bytes", "abc"],
    ["6 bytes (as 2)", "abcdef"],
    ["UTF-8", "ünïcødé"],
    ["255 bytes, the most an item holds", "x".repeat(255)],
  ])("CNAME %s: werift reads it back, chunks end in a null", (_name, cname) => {
    const datagram = buildSenderReports([REPORTS[0]!], cname);
    const packets = RtcpPacketConverter.deSerialize(Buffer.from(datagram));
    expect(weriftCnames(packets[1], 1)).toEqual([[REPORTS[0]!.ssrc, cname]]);
    expect(datagram.length % 4).toBe(0);
    expect(datagram.at(-1)).toBe(0); // RFC 3550 6.5: the item list ends with a null octet
  });

  test("our parser walks it: one empty report per SR, SDES skipped", () => {
    expect(parseRtcpCompound(buildSenderReports(REPORTS, "c"))).toEqual(
      REPORTS.map((r) => ({ type: "receiverReport", senderSsrc: r.ssrc, blocks: [] })),
    );
  });

  test("refuses what RTCP cannot carry", () => {
    expect(() => buildSenderReports([], "c")).toThrow(RangeError);
    expect(() => buildSenderReports(Array(32).fill(REPORTS[0]), "c")).toThrow(RangeError);
    expect(() => buildSenderReports(REPORTS, "é".repeat(128))).toThrow(RangeError); // 256 bytes of UTF-8
  });
});

describe("buildBye", () => {
  const SSRCS = [0x01020304, 0xfffffffe];

  test("werift reads the empty RR and the SDES; BYE, which it does not parse, is skipped by its length", () => {
    const [rr, sdes, ...rest] = RtcpPacketConverter.deSerialize(Buffer.from(buildBye(SSRCS, "wisp-bye")));
    expect(rest).toEqual([]);
    expect(rr).toBeInstanceOf(RtcpRrPacket);
    expect((rr as RtcpRrPacket).ssrc).toBe(SSRCS[0]!);
    expect((rr as RtcpRrPacket).reports).toEqual([]);
    expect(weriftCnames(sdes, 2)).toEqual(SSRCS.map((ssrc) => [ssrc, "wisp-bye"]));
  });

  test("the BYE closes the compound: SC = 2, PT 203, the SSRCs, no reason", () => {
    const datagram = Buffer.from(buildBye(SSRCS, "wisp-bye"));
    const bye = datagram.subarray(-12);
    expect(bye.toString("hex")).toBe("82cb0002" + "01020304" + "fffffffe");
    expect(parseRtcpCompound(datagram)).toEqual([
      { type: "receiverReport", senderSsrc: SSRCS[0]!, blocks: [] },
      { type: "bye", ssrcs: SSRCS },
    ]);
  });

  test("refuses no SSRCs", () => {
    expect(() => buildBye([], "c")).toThrow(RangeError);
  });
});

// ---- malformed input ----

/** RR + NACK + PLI and what each one parses to. */
const GOOD_PACKETS: [Buffer, RtcpFeedback][] = [
  [RR, PARSE_CASES[5]![2][0]!],
  [NACK, PARSE_CASES[0]![2][0]!],
  [weriftPli(1, 2), { type: "pli", senderSsrc: 1, mediaSsrc: 2 }],
];
const GOOD = Buffer.concat(GOOD_PACKETS.map(([bytes]) => bytes));
const SECOND_AT = RR.length;

function damaged(edit: (copy: Buffer) => void): Buffer {
  const copy = Buffer.from(GOOD);
  edit(copy);
  return copy;
}

describe("parseRtcpCompound on damaged input returns the packets before the damage", () => {
  test.each(
    [
      ["zero-length buffer", Buffer.alloc(0), 0],
      ["three bytes, less than a header", Buffer.from([0x80, 0xc9, 0x00]), 0],
      ["second packet version 1", damaged((b) => (b[SECOND_AT] = (1 << 6) | 1)), 1],
      ["first packet version 0", damaged((b) => (b[0] = 0x02)), 0],
      ["second packet's length overruns the datagram", damaged((b) => b.writeUInt16BE(0xffff, SECOND_AT + 2)), 1],
      ["last packet's length one word too long", damaged((b) => b.writeUInt16BE(3, GOOD.length - 10)), 2],
      ["RR says 3 blocks but holds 2", damaged((b) => (b[0] = 0x83)), 0],
      // The NACK's last octet (BLP low byte, 5) read as a padding count leaves 7 octets, too few for SSRCs + FCI.
      ["padding bit on a packet without padding", damaged((b) => (b[SECOND_AT] = b[SECOND_AT]! | 0x20)), 1],
      [
        "padding count larger than the packet",
        damaged((b) => {
          b[SECOND_AT] = b[SECOND_AT]! | 0x20;
          b[SECOND_AT + NACK.length - 1] = 0xff;
        }),
        1,
      ],
      ["stray bytes after the last packet", Buffer.concat([GOOD, Buffer.from([0x80, 0xc9])]), 3],
    ] as const,
  )("%s", (_name, datagram, packetsBefore) => {
    expect(parseRtcpCompound(datagram)).toEqual(GOOD_PACKETS.slice(0, packetsBefore).map(([, packet]) => packet));
  });

  test("every truncation yields exactly the packets that end within it", () => {
    const ends = [RR.length, RR.length + NACK.length, GOOD.length];
    for (let length = 0; length <= GOOD.length; length++) {
      const whole = GOOD_PACKETS.filter((_, i) => ends[i]! <= length).map(([, packet]) => packet);
      expect(parseRtcpCompound(GOOD.subarray(0, length))).toEqual(whole);
    }
  });

  test("random bytes and random corruptions never throw", () => {
    const random = seededRandom(3550);
    for (let i = 0; i < 5000; i++) {
      const noise = Uint8Array.from({ length: Math.floor(random() * 80) }, () => Math.floor(random() * 256));
      if (noise.length > 0) noise[0] = 0x80 | (noise[0]! & 0x3f); // version 2 more often than not
      const corrupted = Buffer.from(GOOD);
      corrupted[Math.floor(random() * corrupted.length)] = Math.floor(random() * 256);
      expect(() => parseRtcpCompound(noise)).not.toThrow();
      expect(() => parseRtcpCompound(corrupted)).not.toThrow();
    }
  });
});

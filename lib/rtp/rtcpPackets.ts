// Plain RTCP (RFC 3550 6), already decrypted from SRTCP, as a WebRTC sender
// reads it from and writes it to each viewer: feedback in (NACK, PLI, FIR,
// receiver reports, BYE), sender reports and BYE out. A few packets per second
// per viewer, so DataView reads and writes, clarity first.

/** What the sender acts on, one entry per RTCP packet we use. */
export type RtcpFeedback =
  /** RFC 4585 6.2.1 Generic NACK: the lost sequence numbers, FCI by FCI, each as PID then the BLP bits (mod 2^16). */
  | { type: "nack"; senderSsrc: number; mediaSsrc: number; lost: number[] }
  /** RFC 4585 6.3.1 Picture Loss Indication. */
  | { type: "pli"; senderSsrc: number; mediaSsrc: number }
  /** RFC 5104 4.3.1 Full Intra Request: the SSRC of each FCI entry. */
  | { type: "fir"; senderSsrc: number; ssrcs: number[] }
  /** RFC 3550 6.6 BYE: the sources leaving. */
  | { type: "bye"; ssrcs: number[] }
  /** RFC 3550 6.4.2 RR, or the report blocks of a 6.4.1 SR: one per packet, with its blocks (maybe none). */
  | { type: "receiverReport"; senderSsrc: number; blocks: ReportBlock[] };

/** RFC 3550 6.4.1 report block: how one of our SSRCs is being received. */
export interface ReportBlock {
  ssrc: number;
  /** Packets lost since the previous report, as a fraction times 256 (0..255). */
  fractionLost: number;
  /** Signed 24-bit: negative when duplicates outnumber losses. */
  cumulativeLost: number;
  /** Extended highest sequence number: cycles << 16 | sequence. */
  highestSequence: number;
  /** Interarrival jitter in RTP timestamp units. */
  jitter: number;
  /** LSR: the middle 32 bits of the NTP timestamp of our last SR, 0 if none yet. */
  lastSenderReport: number;
  /** DLSR: from receiving that SR to sending this report, in 1/65536 s. */
  delaySinceLastSenderReport: number;
}

/** RFC 3550 6.4.1 sender info for one of our SSRCs. */
export interface SenderReportFields {
  ssrc: number;
  /** 64-bit NTP time (lib/rtp/ntpTime.ts) of the same instant as rtpTimestamp. */
  ntpTimestamp: bigint;
  rtpTimestamp: number;
  /** Packets and payload octets sent so far; both wrap mod 2^32. */
  packetCount: number;
  octetCount: number;
}

const RTCP_VERSION = 2; // RFC 3550 6.4.1
const HEADER_BYTES = 4; // V|P|count, PT, length in 32-bit words minus one
const MAX_COUNT = 31; // 5-bit RC / SC field
const PT_SR = 200;
const PT_RR = 201;
const PT_SDES = 202;
const PT_BYE = 203;
const PT_RTPFB = 205; // RFC 4585 6.1 transport layer feedback
const PT_PSFB = 206; // RFC 4585 6.1 payload-specific feedback
const FMT_GENERIC_NACK = 1; // RFC 4585 6.2.1, under RTPFB
const FMT_PLI = 1; // RFC 4585 6.3.1, under PSFB
const FMT_FIR = 4; // RFC 5104 4.3.1, under PSFB
const SENDER_INFO_BYTES = 20; // NTP 8 + RTP 4 + packet count 4 + octet count 4
const REPORT_BLOCK_BYTES = 24; // RFC 3550 6.4.1
const FEEDBACK_SSRCS_BYTES = 8; // RFC 4585 6.1: sender SSRC + media source SSRC
const NACK_FCI_BYTES = 4; // PID 2 + BLP 2
const FIR_FCI_BYTES = 8; // SSRC 4 + seq nr 1 + reserved 3
const SDES_CNAME = 1; // RFC 3550 6.5.1
const MAX_SDES_TEXT_BYTES = 255; // 8-bit item length

// ---- parsing ----

interface RtcpHeader {
  count: number; // RC, SC or FMT
  packetType: number;
  /** The packet after its header, padding removed. */
  body: DataView;
  /** Header + body + padding: where the next packet of the compound starts. */
  totalBytes: number;
}

type PacketResult = RtcpFeedback | "unused" | "malformed";

/**
 * Every packet of a compound RTCP datagram (RFC 3550 6.1) that we use; other
 * types (SDES, APP, REMB, transport-cc, XR) are skipped by their length. Stops
 * at the first malformed packet (bad version, length overrunning the datagram,
 * fields overrunning the packet) and returns what came before; never throws.
 */
export function parseRtcpCompound(data: Uint8Array): RtcpFeedback[] {
  const packets: RtcpFeedback[] = [];
  for (let offset = 0; offset < data.length;) {
    const header = readHeader(data, offset);
    if (header === undefined) break;
    const packet = parsePacket(header);
    if (packet === "malformed") break;
    if (packet !== "unused") packets.push(packet);
    offset += header.totalBytes;
  }
  return packets;
}

/** RFC 3550 6.4.1 common header at `offset`, or undefined if it is not a valid one. */
function readHeader(data: Uint8Array, offset: number): RtcpHeader | undefined {
  if (data.length - offset < HEADER_BYTES) return undefined;
  const view = new DataView(data.buffer, data.byteOffset + offset, data.length - offset);
  const first = view.getUint8(0);
  if (first >> 6 !== RTCP_VERSION) return undefined;
  const totalBytes = (view.getUint16(2) + 1) * 4;
  if (totalBytes > view.byteLength) return undefined;
  let bodyBytes = totalBytes - HEADER_BYTES;
  const hasPadding = (first & 0x20) !== 0;
  if (hasPadding) {
    // The last octet counts the padding octets, itself included.
    const padding = bodyBytes > 0 ? view.getUint8(totalBytes - 1) : 0;
    if (padding === 0 || padding > bodyBytes) return undefined;
    bodyBytes -= padding;
  }
  const body = new DataView(view.buffer, view.byteOffset + HEADER_BYTES, bodyBytes);
  return { count: first & 0x1f, packetType: view.getUint8(1), body, totalBytes };
}

function parsePacket({ packetType, count, body }: RtcpHeader): PacketResult {
  switch (packetType) {
    case PT_SR:
      return parseReportBlocks(body, 4 + SENDER_INFO_BYTES, count);
    case PT_RR:
      return parseReportBlocks(body, 4, count);
    case PT_BYE:
      return parseBye(body, count);
    case PT_RTPFB:
      return count === FMT_GENERIC_NACK ? parseGenericNack(body) : "unused";
    case PT_PSFB:
      if (count === FMT_PLI) return parsePli(body);
      if (count === FMT_FIR) return parseFir(body);
      return "unused"; // REMB and other application layer feedback (FMT 15)
    default:
      return "unused"; // SDES, APP, XR, ...
  }
}

/** SR (6.4.1) or RR (6.4.2): sender SSRC, for an SR its sender info, then `count` report blocks from `blocksAt`. */
function parseReportBlocks(body: DataView, blocksAt: number, count: number): PacketResult {
  if (body.byteLength < blocksAt + count * REPORT_BLOCK_BYTES) return "malformed";
  const blocks: ReportBlock[] = [];
  for (let i = 0; i < count; i++) blocks.push(readReportBlock(body, blocksAt + i * REPORT_BLOCK_BYTES));
  return { type: "receiverReport", senderSsrc: body.getUint32(0), blocks };
}

function readReportBlock(view: DataView, at: number): ReportBlock {
  const lost = view.getUint32(at + 4);
  return {
    ssrc: view.getUint32(at),
    fractionLost: lost >>> 24,
    cumulativeLost: (lost << 8) >> 8, // sign-extend the low 24 bits
    highestSequence: view.getUint32(at + 8),
    jitter: view.getUint32(at + 12),
    lastSenderReport: view.getUint32(at + 16),
    delaySinceLastSenderReport: view.getUint32(at + 20),
  };
}

/** RFC 3550 6.6: SC SSRCs, then an optional reason we do not need. */
function parseBye(body: DataView, count: number): PacketResult {
  if (body.byteLength < count * 4) return "malformed";
  const ssrcs: number[] = [];
  for (let i = 0; i < count; i++) ssrcs.push(body.getUint32(i * 4));
  return { type: "bye", ssrcs };
}

/**
 * RFC 4585 6.2.1: each FCI is a PID and a BLP whose bit i (LSB first) marks
 * PID + i + 1 as lost too. Sequence numbers wrap, so 65535 is followed by 0.
 */
function parseGenericNack(body: DataView): PacketResult {
  const fciBytes = body.byteLength - FEEDBACK_SSRCS_BYTES;
  if (fciBytes < 0 || fciBytes % NACK_FCI_BYTES !== 0) return "malformed";
  const lost: number[] = [];
  for (let at = FEEDBACK_SSRCS_BYTES; at < body.byteLength; at += NACK_FCI_BYTES) {
    const pid = body.getUint16(at);
    const blp = body.getUint16(at + 2);
    lost.push(pid);
    for (let bit = 0; bit < 16; bit++) {
      if ((blp >> bit) & 1) lost.push((pid + bit + 1) & 0xffff);
    }
  }
  return { type: "nack", senderSsrc: body.getUint32(0), mediaSsrc: body.getUint32(4), lost };
}

/** RFC 4585 6.3.1: no FCI, only the two SSRCs. */
function parsePli(body: DataView): PacketResult {
  if (body.byteLength < FEEDBACK_SSRCS_BYTES) return "malformed";
  return { type: "pli", senderSsrc: body.getUint32(0), mediaSsrc: body.getUint32(4) };
}

/** RFC 5104 4.3.1.1: media source SSRC unused (0); each 8-octet FCI names an SSRC that should send a keyframe. */
function parseFir(body: DataView): PacketResult {
  const fciBytes = body.byteLength - FEEDBACK_SSRCS_BYTES;
  if (fciBytes < 0 || fciBytes % FIR_FCI_BYTES !== 0) return "malformed";
  const ssrcs: number[] = [];
  for (let at = FEEDBACK_SSRCS_BYTES; at < body.byteLength; at += FIR_FCI_BYTES) ssrcs.push(body.getUint32(at));
  return { type: "fir", senderSsrc: body.getUint32(0), ssrcs };
}

// ---- building ----

/**
 * One compound datagram: an SR (RFC 3550 6.4.1, no report blocks: we receive
 * nothing from a viewer) per sending SSRC, then one SDES (6.5) with a CNAME
 * chunk per SSRC, since every compound carries a CNAME (6.1).
 */
export function buildSenderReports(reports: SenderReportFields[], cname: string): Uint8Array {
  checkSourceCount(reports.length, "buildSenderReports");
  const senderReports = reports.map(senderReport);
  const ssrcs = reports.map((report) => report.ssrc);
  return Buffer.concat([...senderReports, sourceDescription(ssrcs, cname)]);
}

/**
 * RTCP BYE (RFC 3550 6.6) for these SSRCs, as a compound: an empty RR (sender
 * SSRC = the first SSRC), SDES with a CNAME chunk per SSRC, then the BYE.
 * 6.1 makes every compound start with an SR or RR; we choose the RR because an
 * SR would need fresh sender info (an NTP/RTP timestamp pair and counts) that
 * the caller may no longer have when tearing down, and 6.1 explicitly allows
 * an empty RR when there is nothing to report.
 */
export function buildBye(ssrcs: number[], cname: string): Uint8Array {
  checkSourceCount(ssrcs.length, "buildBye");
  const emptyReceiverReport = rtcpPacket(PT_RR, 0, uint32s([ssrcs[0]!]));
  const bye = rtcpPacket(PT_BYE, ssrcs.length, uint32s(ssrcs));
  return Buffer.concat([emptyReceiverReport, sourceDescription(ssrcs, cname), bye]);
}

function checkSourceCount(count: number, caller: string): void {
  if (count < 1 || count > MAX_COUNT) {
    throw new RangeError(`${caller}: ${count} SSRCs, RTCP needs 1..${MAX_COUNT} in one packet`);
  }
}

/** RFC 3550 6.4.1 SR with RC = 0: SSRC, then NTP, RTP timestamp, packet and octet counts. */
function senderReport(fields: SenderReportFields): Uint8Array {
  const body = new DataView(new ArrayBuffer(4 + SENDER_INFO_BYTES));
  body.setUint32(0, fields.ssrc);
  body.setBigUint64(4, BigInt.asUintN(64, fields.ntpTimestamp));
  // setUint32 reduces mod 2^32, which is how the counts wrap (6.4.1).
  body.setUint32(12, fields.rtpTimestamp);
  body.setUint32(16, fields.packetCount);
  body.setUint32(20, fields.octetCount);
  return rtcpPacket(PT_SR, 0, new Uint8Array(body.buffer));
}

/**
 * RFC 3550 6.5: one chunk per SSRC, each an SSRC, a CNAME item (6.5.1), then
 * null octets that end the item list and pad the chunk to 32 bits.
 */
function sourceDescription(ssrcs: number[], cname: string): Uint8Array {
  const text = new TextEncoder().encode(cname);
  if (text.length > MAX_SDES_TEXT_BYTES) {
    throw new RangeError(`CNAME is ${text.length} bytes in UTF-8, SDES items hold at most ${MAX_SDES_TEXT_BYTES}`);
  }
  const itemBytes = 2 + text.length; // type, length, text
  const chunkBytes = padTo32Bits(4 + itemBytes + 1); // at least one null octet ends the item list
  const chunks = new Uint8Array(chunkBytes * ssrcs.length); // zero-filled: the nulls come for free
  const view = new DataView(chunks.buffer);
  ssrcs.forEach((ssrc, i) => {
    const at = i * chunkBytes;
    view.setUint32(at, ssrc);
    view.setUint8(at + 4, SDES_CNAME);
    view.setUint8(at + 5, text.length);
    chunks.set(text, at + 6);
  });
  return rtcpPacket(PT_SDES, ssrcs.length, chunks);
}

/** RFC 3550 6.4.1 common header (V = 2, no padding) in front of a body that is a multiple of 32 bits. */
function rtcpPacket(packetType: number, count: number, body: Uint8Array): Uint8Array {
  const packet = new Uint8Array(HEADER_BYTES + body.length);
  const view = new DataView(packet.buffer);
  view.setUint8(0, (RTCP_VERSION << 6) | count);
  view.setUint8(1, packetType);
  view.setUint16(2, packet.length / 4 - 1);
  packet.set(body, HEADER_BYTES);
  return packet;
}

function uint32s(values: number[]): Uint8Array {
  const view = new DataView(new ArrayBuffer(values.length * 4));
  values.forEach((value, i) => view.setUint32(i * 4, value));
  return new Uint8Array(view.buffer);
}

function padTo32Bits(bytes: number): number {
  return Math.ceil(bytes / 4) * 4;
}

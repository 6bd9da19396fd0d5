import type { RtcpPacket, RTCRtpSender } from "werift";
import type { ReportBlock } from "../rtp/rtcpPackets.ts";

/** werift 0.25.2's parsed report block (rtp/src/rtcp/rr.ts): the RFC 3550 6.4.1 fields, packetsLost unsigned. */
interface WeriftReceiverInfo {
  ssrc: number;
  fractionLost: number;
  packetsLost: number;
  highestSequence: number;
  jitter: number;
  lsr: number;
  dlsr: number;
}

/** RFC 3550 6.4.1 / 6.4.2 packet types: an SR's or RR's report blocks are what werift calls `reports`. */
const PT_SR = 200;
const PT_RR = 201;

/**
 * The report blocks on `ssrc` in an RTCP packet werift read for one of its
 * senders (RTCRtpSender.onRtcp), in Wisp's shape; empty for other packets.
 */
export function weriftReportBlocks(packet: RtcpPacket, ssrc: number): ReportBlock[] {
  if (packet.type !== PT_SR && packet.type !== PT_RR) return [];
  const reports = (packet as unknown as { reports?: WeriftReceiverInfo[] }).reports ?? [];
  return reports.filter((report) => report.ssrc === ssrc).map((report) => ({
    ssrc: report.ssrc,
    fractionLost: report.fractionLost,
    cumulativeLost: (report.packetsLost << 8) >> 8, // werift reads the 24 bits unsigned: sign-extend
    highestSequence: report.highestSequence,
    jitter: report.jitter,
    lastSenderReport: report.lsr,
    delaySinceLastSenderReport: report.dlsr,
  }));
}

/**
 * werift's own round-trip estimate for a sender (a private field, seconds,
 * smoothed; werift measures it from the SRs it sends until the hand-over),
 * in ms; undefined before its first measurement.
 */
export function weriftRoundTripMs(sender: RTCRtpSender): number | undefined {
  const rtt = (sender as unknown as { rtt?: number }).rtt;
  return rtt === undefined ? undefined : Math.max(0, rtt * 1000);
}

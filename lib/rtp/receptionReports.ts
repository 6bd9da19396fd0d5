import { compactNtp } from "./ntpTime.ts";
import type { ReportBlock, SenderReportFields } from "./rtcpPackets.ts";

/** How one of our tracks reaches a viewer, from its latest RTCP report block (RFC 3550 6.4.1). */
export interface Reception {
  /** Of the packets expected since the viewer's previous report, the share lost (0..1). */
  fractionLost: number;
  /** Packets lost since the start (negative when duplicates outnumber losses). */
  cumulativeLost: number;
  /** Interarrival jitter in ms (the block's RTP timestamp units at the track's clock rate). */
  jitterMs: number;
  /** Round trip in ms, from the latest block that quoted a sender report we remember (LSR/DLSR). */
  roundTripMs: number | undefined;
  /** When the report arrived, ms since 1970. */
  at: number;
}

/** Sender reports remembered by their LSR: a viewer quotes the last one it got, a second or so back. */
const REMEMBERED_SENDER_REPORTS = 16;
/** DLSR's unit: 1/65536 s (RFC 3550 6.4.1). */
const DLSR_UNITS_PER_MS = 65536 / 1000;

/**
 * A viewer's receiver reports on our tracks: loss, jitter and round-trip
 * time per SSRC. RFC 3550 6.4.1 gives the round trip as A - LSR - DLSR, LSR
 * being the middle 32 bits of the NTP timestamp of the sender report the
 * block refers to. Our SRs carry the NTP time of their RTP timestamp (a
 * frame's instant, lib/pipeline/viewerTrack.ts), not the moment they leave,
 * so the time each SR was sent is remembered by its LSR and the round trip
 * is now - sent - DLSR: what the RFC means, without the frame's age in it.
 */
export class ReceptionReports {
  readonly #clockRates = new Map<number, number>();
  /** LSR (compact NTP of an SR we sent) -> when it was sent, ms; insertion order is age. */
  readonly #sentAt = new Map<number, number>();
  readonly #latest = new Map<number, Reception>();
  readonly #now: () => number;

  /** `now`: wall-clock ms (Date.now() epoch); tests inject one. */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** One of our tracks: its SSRC and RTP clock rate (jitter is in its units). Blocks on other SSRCs are ignored. */
  addSource(ssrc: number, clockRate: number): void {
    this.#clockRates.set(ssrc, clockRate);
  }

  /** Our sender reports, as they are sent now. */
  senderReportsSent(reports: readonly SenderReportFields[]): void {
    const now = this.#now();
    for (const report of reports) {
      const lsr = compactNtp(report.ntpTimestamp);
      this.#sentAt.delete(lsr); // a report sent again (no new frame since) is quoted from its latest sending
      this.#sentAt.set(lsr, now);
      if (this.#sentAt.size > REMEMBERED_SENDER_REPORTS) this.#sentAt.delete(this.#sentAt.keys().next().value!);
    }
  }

  /**
   * Report blocks from the viewer (an RR, or an SR's blocks). `measuredRoundTripMs`:
   * a round trip measured elsewhere (werift's, before the hand-over), used
   * when the blocks quote no sender report of ours.
   */
  receive(blocks: readonly ReportBlock[], measuredRoundTripMs?: number): void {
    const at = this.#now();
    for (const block of blocks) {
      const clockRate = this.#clockRates.get(block.ssrc);
      if (clockRate === undefined) continue;
      const previous = this.#latest.get(block.ssrc);
      this.#latest.set(block.ssrc, {
        fractionLost: block.fractionLost / 256,
        cumulativeLost: block.cumulativeLost,
        jitterMs: (block.jitter / clockRate) * 1000,
        roundTripMs: this.#roundTripMs(block, at) ?? measuredRoundTripMs ?? previous?.roundTripMs,
        at,
      });
    }
  }

  /** The latest reception of one of our SSRCs, if the viewer has reported on it. */
  get(ssrc: number): Reception | undefined {
    return this.#latest.get(ssrc);
  }

  /** RFC 3550 6.4.1: LSR 0 means the viewer has had no SR from us yet. */
  #roundTripMs(block: ReportBlock, arrivedAt: number): number | undefined {
    if (block.lastSenderReport === 0) return undefined;
    const sentAt = this.#sentAt.get(block.lastSenderReport);
    if (sentAt === undefined) return undefined;
    const roundTrip = arrivedAt - sentAt - block.delaySinceLastSenderReport / DLSR_UNITS_PER_MS;
    return Math.max(0, roundTrip); // ms clocks on both sides: a loopback round trip can come out a hair below 0
  }
}

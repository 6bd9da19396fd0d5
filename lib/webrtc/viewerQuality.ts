import { type Reception, ReceptionReports } from "../rtp/receptionReports.ts";
import type { ReportBlock, RtcpFeedback, SenderReportFields } from "../rtp/rtcpPackets.ts";
import type { TrackKind } from "../werift/viewerHandshake.ts";
import type { PlayerReport } from "./playerReport.ts";

/** A player report as kept: merged over the reports so far, with when the latest came. */
export type KeptPlayerReport = PlayerReport & { reportedAt: Date };

/**
 * What is measured of one WHEP viewer's session, for the viewers API
 * (GET /api/streams/{name}/viewers) and /metrics: when it was created,
 * connected and sent its first packet; the RTCP feedback it sent (NACK,
 * PLI, FIR) and its receiver reports (loss, jitter, round trip); what its
 * player reported. Fed by its WhepViewer: a few calls a second, and one
 * counter per frame sent.
 */
export class ViewerQuality {
  readonly createdAt: Date;
  connectedAt: Date | undefined;
  firstPacketAt: Date | undefined;
  framesSent = 0;
  /** RTCP feedback received (RFC 4585 6.2.1 Generic NACK, 6.3.1 PLI; RFC 5104 4.3.1 FIR), messages. */
  nacks = 0;
  plis = 0;
  firs = 0;
  readonly #reception: ReceptionReports;
  readonly #ssrcs = new Map<TrackKind, number>();
  #player: KeptPlayerReport | undefined;
  readonly #now: () => number;
  readonly #firstPacketListeners = new Set<(timeToFirstPacketMs: number) => void>();
  readonly #playerListeners = new Set<(report: KeptPlayerReport, previous: KeptPlayerReport | undefined) => void>();

  /** `now`: wall-clock ms (Date.now() epoch); tests inject one. */
  constructor(now: () => number = Date.now) {
    this.#now = now;
    this.createdAt = new Date(now());
    this.#reception = new ReceptionReports(now);
  }

  /** A negotiated track: its SSRC and RTP clock rate. */
  addTrack(kind: TrackKind, ssrc: number, clockRate: number): void {
    this.#ssrcs.set(kind, ssrc);
    this.#reception.addSource(ssrc, clockRate);
  }

  /** ICE and DTLS are connected. */
  connected(): void {
    this.connectedAt ??= new Date(this.#now());
  }

  /** A frame went to the viewer's track, whose count of packets sent is now `packetsSent`. */
  frameSent(packetsSent: number): void {
    this.framesSent++;
    if (this.firstPacketAt || packetsSent === 0) return;
    this.firstPacketAt = new Date(this.#now());
    const ms = this.timeToFirstPacketMs!;
    for (const listener of this.#firstPacketListeners) listener(ms);
    this.#firstPacketListeners.clear();
  }

  /** From its creation (the WHEP POST's negotiation) to its first RTP packet, in ms. */
  get timeToFirstPacketMs(): number | undefined {
    return this.firstPacketAt && this.firstPacketAt.getTime() - this.createdAt.getTime();
  }

  /** RTCP from the viewer, read by Wisp's own link (after the hand-over). */
  feedback(feedback: RtcpFeedback): void {
    if (feedback.type === "nack") this.nacks++;
    else if (feedback.type === "pli") this.plis++;
    else if (feedback.type === "fir") this.firs++;
    else if (feedback.type === "receiverReport") this.#reception.receive(feedback.blocks);
  }

  /** Report blocks read by werift (before the hand-over), with its round-trip estimate. */
  receiverReport(blocks: readonly ReportBlock[], roundTripMs: number | undefined): void {
    this.#reception.receive(blocks, roundTripMs);
  }

  /** Our sender reports as they leave: the round trip is measured from them (RFC 3550 6.4.1). */
  senderReportsSent(reports: readonly SenderReportFields[]): void {
    this.#reception.senderReportsSent(reports);
  }

  /** How a track reaches the viewer, by its latest receiver report. */
  reception(kind: TrackKind): Reception | undefined {
    const ssrc = this.#ssrcs.get(kind);
    return ssrc === undefined ? undefined : this.#reception.get(ssrc);
  }

  /** The player's own report; fields it leaves out keep their earlier values. */
  playerReported(report: PlayerReport): void {
    const previous = this.#player;
    this.#player = { ...previous, ...report, reportedAt: new Date(this.#now()) };
    for (const listener of this.#playerListeners) listener(this.#player, previous);
  }

  get player(): KeptPlayerReport | undefined {
    return this.#player;
  }

  /** Calls `listener` once, with the time to first packet (at once if it was sent already). */
  onFirstPacket(listener: (timeToFirstPacketMs: number) => void): void {
    if (this.timeToFirstPacketMs !== undefined) listener(this.timeToFirstPacketMs);
    else this.#firstPacketListeners.add(listener);
  }

  /** Calls `listener` with every player report from now on, merged, and the one before it. */
  onPlayerReport(listener: (report: KeptPlayerReport, previous: KeptPlayerReport | undefined) => void): void {
    this.#playerListeners.add(listener);
  }
}

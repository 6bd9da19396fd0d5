import { NackHistory } from "../rtp/nackHistory.ts";
import { ntpNow } from "../rtp/ntpTime.ts";
import type { SenderReportFields } from "../rtp/rtcpPackets.ts";
import type { RtpPayload } from "../rtp/rtpPayload.ts";
import { wallClockMs } from "./mediaClock.ts";
import { rtpTimestamp } from "../wrapArithmetic.ts";

/**
 * Where a viewer's track puts its packets, sealed: lib/srtp/srtpSink.ts (our
 * SRTP into the send batch), on werift's route and keys until the hand-over
 * (lib/werift/weriftSenderSink.ts) and the ViewerLink's after it.
 */
export interface RtpSink {
  /** Sends one packet; false when it cannot be sent now (not connected yet, link closed): it is dropped, as werift drops it. */
  send(packetIndex: number, timestamp: number, marker: boolean, payload: Uint8Array): boolean;
  /**
   * Sends a whole frame at once where the sink can: packet i with index
   * firstIndex + i and timestamp (packets[i].timestamp + timestampAdd) mod 2^32.
   * False when it cannot (nothing sent): the track sends packet by packet.
   */
  sendFrame?(packets: RtpPayload[], firstIndex: number, timestampAdd: number): boolean;
  /** After each frame, the track's counters: werift's own sender reports read them until the hand-over. */
  counted?(counters: Readonly<TrackCounters>): void;
}

/** One track's sending state, as a sender report needs it (RFC 3550 6.4.1). */
export interface TrackCounters {
  /** The last packet sent: its RFC 3711 3.3.1 index and its RTP timestamp. */
  lastIndex: number;
  lastTimestamp: number;
  /** The sender's packet and octet (payload bytes) counts, mod 2^32. */
  packetCount: number;
  octetCount: number;
  /** The report's RTP timestamp, standing for wall-clock `reportAtMs` (ms, Date.now() epoch); set once `marked`. */
  reportRtpTimestamp: number;
  reportAtMs: number;
  marked: boolean;
}

export interface ViewerTrackOptions {
  /** The track's SSRC: werift's, announced in the answer. */
  ssrc: number;
  /** RTP clock rate: 90 kHz for H.264 (RFC 6184 8.2.1), 48 kHz for Opus (RFC 7587 4.1). */
  clockRate: number;
  /** RTP ticks of a typical frame, used to join two sessions (3000 at 90 kHz 30 fps, 960 for 20 ms Opus). */
  frameStep: number;
  /** Packets kept for NACK retransmission (RFC 4585 6.2.1); 0 when NACK is not negotiated. */
  historySize: number;
  /** Wall-clock ms now (Date.now() epoch); default wallClockMs. Tests inject one. */
  clock?: () => number;
}

/**
 * One viewer's RTP for one track, applied to the stream's shared payloads,
 * which are never modified: its own sequence numbers and timestamp offset
 * (RFC 3550 5.1: both start random), continued across source switches
 * (rebase); a NACK history to resend from (RFC 4585 6.2.1); the sender
 * report's counters (RFC 3550 6.4.1), with the NTP time computed correctly
 * (werift's fraction is wrong, FACTS.md). The sealing and the route are the
 * sink's, which the hand-over swaps (useSink): nothing here knows werift.
 */
export class ViewerTrack {
  packetsSent = 0;
  /** RTP payload bytes sent (headers and SRTP tags not counted); unlike the report's octet count it does not wrap. */
  bytesSent = 0;
  retransmitted = 0;
  readonly ssrc: number;
  #sink: RtpSink | undefined;
  /** RFC 3711 3.3.1 packet index: rollover counter (starts at 0) * 65536 + sequence number (starts random). */
  #packetIndex = randomUint32() & 0xffff;
  #timestampOffset = randomUint32();
  #lastTimestamp: number | undefined;
  #rebasePending = false;
  /** Wall-clock ms of the last frame sent: a rebase advances the timeline by the time since. */
  #lastSentAtMs = 0;
  readonly #clockRate: number;
  readonly #frameStep: number;
  readonly #clock: () => number;
  readonly #history: NackHistory;
  /** Kept as ms; made an NTP timestamp only when a report is built (no BigInt per frame per viewer). */
  readonly #counters: TrackCounters = {
    lastIndex: 0,
    lastTimestamp: 0,
    packetCount: 0,
    octetCount: 0,
    reportRtpTimestamp: 0,
    reportAtMs: 0,
    marked: false,
  };

  constructor(sink: RtpSink | undefined, options: ViewerTrackOptions) {
    this.#sink = sink;
    this.ssrc = options.ssrc;
    this.#clockRate = options.clockRate;
    this.#frameStep = options.frameStep;
    this.#clock = options.clock ?? wallClockMs;
    this.#history = new NackHistory(options.historySize);
  }

  /** From now on packets, retransmissions included, go to `sink`; undefined: nowhere (the track stops). */
  useSink(sink: RtpSink | undefined): void {
    this.#sink = sink;
  }

  /**
   * After a source switch (a pipeline swap, a publisher reconnect) the next
   * frame continues the timeline by the time that really passed since the
   * last one sent (at least one frame), so the viewer's timeline stays
   * monotonic and its jitter buffer stays live: continuing one frame after
   * the last would put the new frames a whole gap "early" on the sender's
   * clock, and the browser would play them that much later (measured: the
   * delay grew by each gap, bench swapGap).
   */
  rebase(): void {
    this.#rebasePending = this.#lastTimestamp !== undefined;
  }

  /**
   * Sends one frame's payloads, synchronously. `timestampShift` moves this
   * frame's timestamps later (fast start). `mediaTimeMs`: the frame's time on
   * the stream's media clock, for sender reports; omitted for fast-start
   * frames, whose squeezed timestamps are off that clock.
   */
  send(packets: RtpPayload[], timestampShift = 0, mediaTimeMs?: number): void {
    const last = packets.at(-1);
    if (!last) return;
    const timestampAdd = this.#timestampAdd(packets[0]!.timestamp, timestampShift);
    const sink = this.#sink;
    if (sink?.sendFrame?.(packets, this.#packetIndex + 1, timestampAdd)) this.#sentWhole(packets, timestampAdd);
    else this.#sendEach(sink, packets, timestampAdd);
    this.#lastTimestamp = rtpTimestamp(last.timestamp + timestampAdd);
    this.#lastSentAtMs = this.#clock();
    if (mediaTimeMs !== undefined) this.#mark(this.#lastTimestamp, mediaTimeMs);
    sink?.counted?.(this.#counters);
  }

  /** RFC 4585 6.2.1 Generic NACK: resends what the history still holds, under the same index (same SRTP bytes). */
  retransmit(lostSequenceNumbers: number[]): void {
    for (const sequenceNumber of lostSequenceNumbers) {
      const sent = this.#history.find(sequenceNumber);
      if (sent && this.#sink?.send(sent.packetIndex, sent.timestamp, sent.marker, sent.payload)) this.retransmitted++;
    }
  }

  /** This track's sender report now (RFC 3550 6.4.1), once a live frame has gone out. */
  senderReport(): SenderReportFields | undefined {
    const { marked, reportRtpTimestamp, reportAtMs, packetCount, octetCount } = this.#counters;
    if (!marked) return undefined;
    return {
      ssrc: this.ssrc,
      rtpTimestamp: reportRtpTimestamp,
      ntpTimestamp: ntpNow(reportAtMs),
      packetCount,
      octetCount,
    };
  }

  #sendEach(sink: RtpSink | undefined, packets: RtpPayload[], timestampAdd: number): void {
    const counters = this.#counters;
    for (const { timestamp, marker, payload } of packets) {
      const index = ++this.#packetIndex;
      const rewritten = rtpTimestamp(timestamp + timestampAdd);
      if (!sink?.send(index, rewritten, marker, payload)) continue;
      this.packetsSent++;
      this.bytesSent += payload.length;
      this.#history.remember(index, rewritten, marker, payload);
      counters.lastIndex = index;
      counters.lastTimestamp = rewritten;
      counters.packetCount = (counters.packetCount + 1) >>> 0;
      counters.octetCount = (counters.octetCount + payload.length) >>> 0;
    }
  }

  /** The sink took the frame whole: the history and the counters as if it went packet by packet. */
  #sentWhole(packets: RtpPayload[], timestampAdd: number): void {
    let octets = 0;
    for (const { timestamp, marker, payload } of packets) {
      this.#history.remember(++this.#packetIndex, rtpTimestamp(timestamp + timestampAdd), marker, payload);
      octets += payload.length;
    }
    this.packetsSent += packets.length;
    this.bytesSent += octets;
    const counters = this.#counters;
    counters.lastIndex = this.#packetIndex;
    counters.lastTimestamp = rtpTimestamp(packets.at(-1)!.timestamp + timestampAdd);
    counters.packetCount = (counters.packetCount + packets.length) >>> 0;
    counters.octetCount = (counters.octetCount + octets) >>> 0;
  }

  /**
   * RFC 3550 6.4.1: a sender report's RTP timestamp is the one that matches
   * its NTP time ("now") on a clock common to the stream's tracks, not the
   * last packet's: this frame's timestamp moved on by how long ago its media
   * time was. Audio that arrived 70 ms late then reports the same instant as
   * video, and the receiver's lip sync is right.
   */
  #mark(timestamp: number, mediaTimeMs: number): void {
    const nowMs = this.#clock();
    const counters = this.#counters;
    counters.reportRtpTimestamp = (timestamp + Math.round(((nowMs - mediaTimeMs) * this.#clockRate) / 1000)) >>> 0;
    counters.reportAtMs = nowMs;
    counters.marked = true;
  }

  /** What this frame's timestamps get added (mod 2^32): the session's offset, after a rebase the new one, and the shift. */
  #timestampAdd(firstSource: number, shift: number): number {
    if (this.#rebasePending) {
      const elapsed = Math.round(((this.#clock() - this.#lastSentAtMs) * this.#clockRate) / 1000);
      const step = Math.max(this.#frameStep, elapsed);
      // The first frame lands `step` after the last one, fast-start shift included: a squeezed GOP's
      // first frame is already "now" (its shift says how far it was moved toward the live edge).
      this.#timestampOffset = rtpTimestamp(this.#lastTimestamp! + step - firstSource - shift);
      this.#rebasePending = false;
    }
    return rtpTimestamp(this.#timestampOffset + shift);
  }
}

function randomUint32(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

import type { RTCRtpSender } from "werift";
import { wallClockMs } from "../pipeline/mediaClock.ts";
import { ntpNow } from "../rtp/ntpTime.ts";
import type { SenderReportFields } from "../rtp/rtcpPackets.ts";
import type { RtpPayload } from "../rtp/rtpPayload.ts";
import { SrtpEncryptor } from "../srtp/srtpEncryptor.ts";
import { sealableFrame, sealFrame, type FrameSealTarget } from "../srtp/srtpFrameSealer.ts";
import type { Address, DatagramWriter } from "../udp/udpMux.ts";
import type { SrtpProfile } from "../srtp/sessionKeys.ts";

/** How one viewer's track puts RTP on the wire: the direct path below, or werift's own (the benchmark baseline). */
export interface RtpSendPath {
  /** Sends one packet; false when the transport is not ready (the packet is dropped, as werift does). */
  send(packetIndex: number, timestamp: number, marker: boolean, payload: Uint8Array): boolean;
  /**
   * Sends a whole frame at once where the path can: packet i with index
   * firstIndex + i and timestamp (packets[i].timestamp + timestampAdd) mod 2^32.
   * False when it cannot (nothing sent): the caller sends packet by packet.
   */
  sendFrame?(packets: RtpPayload[], firstIndex: number, timestampAdd: number): boolean;
  /**
   * After a live frame: `timestamp` (its RTP timestamp) stands for `mediaTimeMs`
   * on the stream's media clock; sender reports carry the pair (RFC 3550 6.4.1).
   */
  markSent(timestamp: number, mediaTimeMs: number): void;
}

/** The werift transport a connection's selected pair sends on: werift's UdpTransport, or our MuxedTransport. */
interface PairTransport {
  send(data: Buffer, addr: Address): unknown;
  queueWith?(length: number, addr: Address, write: DatagramWriter): void;
}

/** werift 0.25.2 SRTP context fields: its session keys, derived from the DTLS exporter (RFC 5764 4.2). */
interface WeriftSrtpContext {
  profile: number;
  srtpSessionKey: Buffer;
  srtpSessionSalt: Buffer;
  srtpSessionAuthTag: Buffer;
}

/**
 * werift's RTCRtpSender internals that the direct path uses (werift 0.25.2).
 * tests/webrtc/directRtpSender.test.ts fails if an upgrade renames them.
 */
interface SenderInternals {
  ssrc: number;
  codec?: { payloadType: number; clockRate: number };
  stopped: boolean;
  dtlsTransport?: {
    state: string;
    srtp?: { localContext: WeriftSrtpContext };
    iceTransport: { connection: { nominated?: { protocol: { transport: PairTransport }; remoteAddr: Address } } };
  };
  sequenceNumber?: number;
  timestamp?: number;
  rtpTimestamp: number;
  ntpTimestamp: bigint;
  packetCount: number;
  octetCount: number;
  runRtcp(): Promise<void>;
  onGenericNack: { subscribe(listener: (feedback: { lost: number[] }) => void): unknown };
}

/** werift's numbers for the DTLS-SRTP profiles (RFC 5764 4.1.2, RFC 7714 14.2). */
export const SRTP_PROFILES: Record<number, SrtpProfile> = { 0x0001: "AES_CM_128_HMAC_SHA1_80", 0x0007: "AEAD_AES_128_GCM" };

/** Where media goes once werift has handed the connection over (ViewerLink). */
export interface MediaLink {
  readonly closed: boolean;
  queueWith(length: number, write: DatagramWriter): void;
  queueRun(lengths: Int32Array, bytes: number, write: DatagramWriter): boolean;
}

/** What a track sends with after the hand-over: fixed at that moment, no werift object behind it. */
interface DetachedTrack {
  link: MediaLink;
  srtp: SrtpEncryptor;
  ssrc: number;
  payloadType: number;
  clockRate: number;
  /** Set when whole frames are sealed natively (AES-GCM, lib/srtp/srtpFrameSealer.ts); else packet by packet. */
  frameSeal: FrameSealTarget | undefined;
}

export interface DirectRtpSenderOptions {
  /** Packets kept for NACK retransmission (RFC 4585 6.2.1); 0 when NACK is not negotiated. Rounded up to a power of two. */
  historySize: number;
  /** Wall-clock ms now (Date.now() epoch); default wallClockMs. Tests inject one. */
  clock?: () => number;
  /** After the hand-over, seal each frame in one native call where possible (WEBRTC_NATIVE_SRTP); default true. */
  nativeFrames?: boolean;
}

/**
 * Sends one viewer's RTP for one track without werift's per-packet machinery:
 * our own SRTP (lib/srtp/srtpEncryptor.ts) on werift's session keys, then the
 * selected ICE pair's transport, batched when it is the UDP mux. Until the
 * hand-over werift keeps ICE, DTLS, keys and RTCP, and this fills in what its
 * sender reports need; after handOver() nothing here refers to werift, and
 * the ViewerLink sends our sender reports (senderReport()). The reports' NTP
 * time is computed correctly here (werift's fraction is wrong, FACTS.md).
 *
 * NACKs are answered from our own history: references to the stream's shared
 * payloads plus each packet's index, timestamp and marker, re-encrypted on
 * demand (same index, same bytes), so a viewer holds no packet copies.
 */
export class DirectRtpSender implements RtpSendPath {
  retransmitted = 0;
  #sender: SenderInternals | undefined;
  #detached: DetachedTrack | undefined;
  readonly #mask: number;
  readonly #historyPayload: Array<Uint8Array | undefined>;
  readonly #historyIndex: Float64Array;
  readonly #historyTimestamp: Uint32Array;
  readonly #historyMarker: Uint8Array;
  #srtp: SrtpEncryptor | undefined;
  #srtpContext: WeriftSrtpContext | undefined;
  #rtcpStarted = false;
  readonly #clock: () => number;
  readonly #nativeFrames: boolean;
  /**
   * Sender report fields (RFC 3550 6.4.1), kept here so they outlive werift's
   * sender; the time as ms, made an NTP timestamp only when a report is built
   * (no BigInt per frame per viewer).
   */
  readonly #report = { rtpTimestamp: 0, atMs: 0, packetCount: 0, octetCount: 0, marked: false };

  constructor(sender: RTCRtpSender, options: DirectRtpSenderOptions) {
    this.#sender = sender as unknown as SenderInternals;
    this.#clock = options.clock ?? wallClockMs;
    this.#nativeFrames = options.nativeFrames ?? true;
    const size = options.historySize > 0 ? 2 ** Math.ceil(Math.log2(options.historySize)) : 0;
    this.#mask = size - 1;
    this.#historyPayload = new Array(size);
    this.#historyIndex = new Float64Array(size).fill(-1);
    this.#historyTimestamp = new Uint32Array(size);
    this.#historyMarker = new Uint8Array(size);
    if (size > 0) this.#sender.onGenericNack.subscribe((feedback) => this.#detached || this.retransmit(feedback.lost));
  }

  get ssrc(): number {
    return this.#detached?.ssrc ?? this.#sender!.ssrc;
  }

  /** `packetIndex`: RFC 3711 3.3.1 index, rollover counter * 65536 + sequence number. */
  send(packetIndex: number, timestamp: number, marker: boolean, payload: Uint8Array): boolean {
    if (!this.#transmit(packetIndex, timestamp, marker, payload)) return false;
    if (this.#mask >= 0) this.#remember(packetIndex, timestamp, marker, payload);
    const report = this.#report;
    report.packetCount = (report.packetCount + 1) >>> 0;
    report.octetCount = (report.octetCount + payload.length) >>> 0;
    const s = this.#sender;
    if (s) {
      s.sequenceNumber = packetIndex & 0xffff;
      s.timestamp = timestamp;
      s.packetCount = report.packetCount;
      s.octetCount = report.octetCount;
    }
    return true;
  }

  /**
   * After the hand-over, with AES-GCM: the frame's datagrams for this viewer
   * sealed in one native call, straight into the mux's batch. The history
   * keeps the shared payloads as send() does, so NACKs are answered the same way.
   */
  sendFrame(packets: RtpPayload[], firstIndex: number, timestampAdd: number): boolean {
    const track = this.#detached;
    const target = track?.frameSeal;
    if (!target || track.link.closed) return false;
    const frame = sealableFrame(packets);
    const write = (into: Uint8Array, at: number) => sealFrame(frame, target, firstIndex, timestampAdd, into, at);
    if (!track.link.queueRun(frame.datagramLengths, frame.datagramBytes, write)) return false;
    if (this.#mask >= 0) {
      for (let i = 0; i < packets.length; i++) {
        const { timestamp, marker, payload } = packets[i]!;
        this.#remember(firstIndex + i, (timestamp + timestampAdd) >>> 0, marker, payload);
      }
    }
    const report = this.#report;
    report.packetCount = (report.packetCount + packets.length) >>> 0;
    report.octetCount = (report.octetCount + frame.payloadBytes) >>> 0;
    return true;
  }

  /**
   * RFC 3550 6.4.1: a sender report's RTP timestamp is the one that matches
   * its NTP time ("now") on a clock common to the stream's tracks, not the
   * last packet's: this frame's timestamp moved on by how long ago its media
   * time was. Audio that arrived 70 ms late then reports the same instant as
   * video, and the receiver's lip sync is right.
   */
  markSent(timestamp: number, mediaTimeMs: number): void {
    const clockRate = this.#clockRate();
    if (clockRate === undefined) return;
    const nowMs = this.#clock();
    const report = this.#report;
    report.rtpTimestamp = (timestamp + Math.round(((nowMs - mediaTimeMs) * clockRate) / 1000)) >>> 0;
    report.atMs = nowMs;
    report.marked = true;
    const s = this.#sender;
    if (!s) return;
    s.rtpTimestamp = report.rtpTimestamp;
    s.ntpTimestamp = ntpNow(nowMs);
    if (!this.#rtcpStarted) {
      this.#rtcpStarted = true;
      void s.runRtcp();
    }
  }

  /** This track's sender report now, once a frame has gone out (for ViewerLink). */
  senderReport(): SenderReportFields | undefined {
    const { marked, rtpTimestamp, atMs, packetCount, octetCount } = this.#report;
    return marked ? { ssrc: this.ssrc, rtpTimestamp, ntpTimestamp: ntpNow(atMs), packetCount, octetCount } : undefined;
  }

  /**
   * From now on packets go through `link`, with the SSRC, payload type and
   * keys werift negotiated, and werift's sender is let go (its reports stop
   * with its peer connection). False when werift is not connected yet.
   */
  handOver(link: MediaLink): boolean {
    const s = this.#sender;
    const srtp = this.#encryptor();
    if (!s?.codec || !srtp || this.#detached) return false;
    const { ssrc } = s;
    const { payloadType, clockRate } = s.codec;
    const frameSeal = this.#nativeFrames ? srtp.frameSealTarget(ssrc, payloadType) : undefined;
    this.#detached = { link, srtp, ssrc, payloadType, clockRate, frameSeal };
    this.#sender = undefined;
    this.#srtpContext = undefined;
    return true;
  }

  #clockRate(): number | undefined {
    return this.#detached?.clockRate ?? this.#sender?.codec?.clockRate;
  }

  #transmit(packetIndex: number, timestamp: number, marker: boolean, payload: Uint8Array): boolean {
    const detached = this.#detached;
    if (detached) return this.#transmitDetached(detached, packetIndex, timestamp, marker, payload);
    const s = this.#sender!;
    const transport = s.dtlsTransport;
    const pair = transport?.iceTransport.connection.nominated;
    const srtp = this.#encryptor();
    if (s.stopped || !s.codec || transport?.state !== "connected" || !pair || !srtp) return false;
    const header = { ssrc: s.ssrc, payloadType: s.codec.payloadType, sequenceNumber: packetIndex & 0xffff, timestamp, marker };
    const out = pair.protocol.transport;
    const rollover = Math.floor(packetIndex / 0x10000);
    if (out.queueWith) {
      out.queueWith(srtp.datagramSize(payload), pair.remoteAddr, (into, at) => srtp.encryptInto(header, rollover, payload, into, at));
    } else {
      void out.send(srtp.encrypt(header, rollover, payload), pair.remoteAddr);
    }
    return true;
  }

  #transmitDetached(track: DetachedTrack, packetIndex: number, timestamp: number, marker: boolean, payload: Uint8Array): boolean {
    if (track.link.closed) return false;
    const { srtp } = track;
    const header = { ssrc: track.ssrc, payloadType: track.payloadType, sequenceNumber: packetIndex & 0xffff, timestamp, marker };
    const rollover = Math.floor(packetIndex / 0x10000);
    track.link.queueWith(srtp.datagramSize(payload), (into, at) => srtp.encryptInto(header, rollover, payload, into, at));
    return true;
  }

  /** The encryptor for the current DTLS session's keys (a new handshake brings new keys). */
  #encryptor(): SrtpEncryptor | undefined {
    const context = this.#sender?.dtlsTransport?.srtp?.localContext;
    if (!context) return undefined;
    if (context !== this.#srtpContext) {
      const profile = SRTP_PROFILES[context.profile];
      if (!profile) throw new Error(`unsupported SRTP protection profile 0x${context.profile.toString(16)}`);
      this.#srtp = new SrtpEncryptor({ profile, key: context.srtpSessionKey, salt: context.srtpSessionSalt, authKey: context.srtpSessionAuthTag });
      this.#srtpContext = context;
    }
    return this.#srtp;
  }

  #remember(packetIndex: number, timestamp: number, marker: boolean, payload: Uint8Array): void {
    const slot = packetIndex & this.#mask;
    this.#historyPayload[slot] = payload;
    this.#historyIndex[slot] = packetIndex;
    this.#historyTimestamp[slot] = timestamp;
    this.#historyMarker[slot] = marker ? 1 : 0;
  }

  /** RFC 4585 6.2.1 Generic NACK: resend what the history still holds, under the same index (same SRTP bytes). */
  retransmit(lostSequenceNumbers: number[]): void {
    for (const sequenceNumber of lostSequenceNumbers) {
      const slot = sequenceNumber & this.#mask;
      const packetIndex = this.#historyIndex[slot]!;
      const payload = this.#historyPayload[slot];
      if (packetIndex < 0 || (packetIndex & 0xffff) !== sequenceNumber || !payload) continue;
      if (this.#transmit(packetIndex, this.#historyTimestamp[slot]!, this.#historyMarker[slot] === 1, payload)) this.retransmitted++;
    }
  }
}

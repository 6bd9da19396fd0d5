import type { RTCRtpSender } from "werift";
import type { TrackCounters } from "../pipeline/viewerTrack.ts";
import { ntpNow } from "../rtp/ntpTime.ts";
import type { SrtpProfile } from "../srtp/sessionKeys.ts";
import { SrtpEncryptor } from "../srtp/srtpEncryptor.ts";
import { type MediaLink, SrtpSink, type SrtpSinkOptions } from "../srtp/srtpSink.ts";
import type { Address, DatagramWriter } from "../udp/udpMux.ts";

/** The werift transport a connection's selected pair sends on: werift's UdpTransport, or our MuxedTransport. */
interface PairTransport {
  send(data: Buffer, addr: Address): unknown;
  queueWith?(length: number, addr: Address, write: DatagramWriter): void;
}

interface SelectedPair {
  protocol: { transport: PairTransport };
  remoteAddr: Address;
}

/** werift 0.25.2 SRTP context fields: its session keys, derived from the DTLS exporter (RFC 5764 4.2). */
interface WeriftSrtpContext {
  profile: number;
  srtpSessionKey: Buffer;
  srtpSessionSalt: Buffer;
  srtpSessionAuthTag: Buffer;
}

/**
 * werift's RTCRtpSender internals that Wisp's send path uses (werift 0.25.2).
 * tests/werift/weriftSenderSink.test.ts fails if an upgrade renames them.
 */
interface SenderInternals {
  ssrc: number;
  codec?: { payloadType: number; clockRate: number };
  stopped: boolean;
  dtlsTransport?: {
    state: string;
    srtp?: { localContext: WeriftSrtpContext };
    iceTransport: { connection: { nominated?: SelectedPair } };
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
export const SRTP_PROFILES: Record<number, SrtpProfile> = {
  0x0001: "AES_CM_128_HMAC_SHA1_80",
  0x0007: "AEAD_AES_128_GCM",
};

/** The sink for the current route and keys, and what it was made for. */
interface CurrentRoute {
  pair: SelectedPair;
  srtp: SrtpEncryptor;
  payloadType: number;
  sink: SrtpSink;
}

/**
 * A viewer track's RtpSink while werift holds the connection: our SRTP
 * (lib/srtp/srtpSink.ts) on werift's session keys, sent on the selected ICE
 * pair, batched when that is the UDP mux, without werift's per-packet
 * machinery (FACTS.md: ~14 us per packet per viewer). Until the hand-over
 * werift keeps ICE, DTLS, keys and RTCP; its sender reports are fed the
 * track's counters (counted). detach() hands the keys, SSRC and payload
 * type over to a sink on the ViewerLink, and nothing of werift is kept.
 */
export class WeriftSenderSink {
  #sender: SenderInternals | undefined;
  #srtp: SrtpEncryptor | undefined;
  #srtpContext: WeriftSrtpContext | undefined;
  #route: CurrentRoute | undefined;
  #rtcpStarted = false;

  constructor(sender: RTCRtpSender) {
    this.#sender = sender as unknown as SenderInternals;
  }

  /** werift's RTCRtpSender picks the SSRC when it is made; it never changes. */
  static ssrcOf(sender: RTCRtpSender): number {
    return (sender as unknown as SenderInternals).ssrc;
  }

  /** RTCP Generic NACKs werift reads for this sender (RFC 4585 6.2.1), until detach(). */
  onNack(listener: (lost: number[]) => void): void {
    this.#sender?.onGenericNack.subscribe((feedback) => this.#sender && listener(feedback.lost));
  }

  send(packetIndex: number, timestamp: number, marker: boolean, payload: Uint8Array): boolean {
    return this.#current()?.send(packetIndex, timestamp, marker, payload) ?? false;
  }

  /** werift's sender reports (its runRtcp loop, started with the first live frame) read these fields. */
  counted(counters: Readonly<TrackCounters>): void {
    const s = this.#sender;
    if (!s) return;
    if (counters.packetCount > 0) {
      s.sequenceNumber = counters.lastIndex & 0xffff;
      s.timestamp = counters.lastTimestamp;
    }
    s.packetCount = counters.packetCount;
    s.octetCount = counters.octetCount;
    if (!counters.marked) return;
    s.rtpTimestamp = counters.reportRtpTimestamp;
    s.ntpTimestamp = ntpNow(counters.reportAtMs);
    if (!this.#rtcpStarted) {
      this.#rtcpStarted = true;
      void s.runRtcp();
    }
  }

  /**
   * At the hand-over: a sink on `link` with the SSRC, payload type and keys
   * werift negotiated; werift's sender is let go (its reports stop with its
   * peer connection). Undefined when werift has no keys or codec yet.
   */
  detach(link: MediaLink, options: SrtpSinkOptions): SrtpSink | undefined {
    const s = this.#sender;
    const srtp = this.#encryptor();
    if (!s?.codec || !srtp) return undefined;
    const keys = { srtp, ssrc: s.ssrc, payloadType: s.codec.payloadType };
    this.#sender = undefined;
    this.#srtpContext = undefined;
    this.#route = undefined;
    return new SrtpSink(link, keys, options);
  }

  /** The sink for werift's selected pair and keys now; undefined until DTLS is connected (packets are dropped, as werift does). */
  #current(): SrtpSink | undefined {
    const s = this.#sender;
    if (!s) return undefined;
    const transport = s.dtlsTransport;
    const pair = transport?.iceTransport.connection.nominated;
    const srtp = this.#encryptor();
    if (s.stopped || !s.codec || transport?.state !== "connected" || !pair || !srtp) return undefined;
    const route = this.#route;
    const payloadType = s.codec.payloadType;
    if (route?.pair === pair && route.srtp === srtp && route.payloadType === payloadType) return route.sink;
    const sink = new SrtpSink(pairLink(pair), { srtp, ssrc: s.ssrc, payloadType }, { nativeFrames: false });
    this.#route = { pair, srtp, payloadType, sink };
    return sink;
  }

  /** The encryptor for the current DTLS session's keys (a new handshake brings new keys). */
  #encryptor(): SrtpEncryptor | undefined {
    const context = this.#sender?.dtlsTransport?.srtp?.localContext;
    if (!context) return undefined;
    if (context !== this.#srtpContext) {
      const profile = SRTP_PROFILES[context.profile];
      if (!profile) throw new Error(`unsupported SRTP protection profile 0x${context.profile.toString(16)}`);
      this.#srtp = new SrtpEncryptor({
        profile,
        key: context.srtpSessionKey,
        salt: context.srtpSessionSalt,
        authKey: context.srtpSessionAuthTag,
      });
      this.#srtpContext = context;
    }
    return this.#srtp;
  }
}

/**
 * The selected pair as a MediaLink: into the mux's batch when the pair is on
 * the UDP mux, else one datagram at a time on werift's own socket.
 */
function pairLink(pair: SelectedPair): MediaLink {
  const transport = pair.protocol.transport;
  const to = pair.remoteAddr;
  const queueWith: MediaLink["queueWith"] = transport.queueWith
    ? (length, write) => transport.queueWith!(length, to, write)
    : (length, write) => {
      const datagram = Buffer.allocUnsafe(length);
      write(datagram, 0);
      void transport.send(datagram, to);
    };
  return { closed: false, queueWith, queueRun: () => false };
}

import { RtpHeader, RtpPacket, type RTCRtpSender } from "werift";

/**
 * werift's RTCRtpSender internals that the direct path uses (werift 0.25.2).
 * tests/webrtc/directRtpSender.test.ts fails if an upgrade renames them.
 */
interface SenderInternals {
  ssrc: number;
  codec?: { payloadType: number };
  stopped: boolean;
  dtlsTransport?: {
    state: string;
    srtp?: { encrypt(payload: Buffer, header: RtpHeader): Buffer };
    iceTransport: { connection: { nominated?: { protocol: { transport: { send(data: Buffer, addr: unknown): unknown } }; remoteAddr: unknown } } };
  };
  rtpCache: RtpPacket[];
  sequenceNumber?: number;
  timestamp?: number;
  rtpTimestamp: number;
  ntpTimestamp: bigint;
  packetCount: number;
  octetCount: number;
  runRtcp(): Promise<void>;
}

const RTP_HISTORY_SIZE = 128; // werift's NACK cache size (rtpSender.js)
const NTP_EPOCH_OFFSET_S = 2_208_988_800; // 1900-01-01 to 1970-01-01 (RFC 5905)

/**
 * Sends one viewer's RTP through werift's SRTP context and the selected ICE
 * pair directly, synchronously, skipping RTCRtpSender.dispatchRtp's per-packet
 * work (packet clone, header-extension rebuild, a clock read, bandwidth
 * estimation, three awaits). It keeps what RTCP needs in the sender: the NACK
 * cache, and the counters and RTP/NTP timestamp pair of sender reports, whose
 * NTP time is computed correctly here (werift's NTP fraction is wrong, FACTS.md).
 */
export class DirectRtpSender {
  readonly #sender: SenderInternals;
  #rtcpStarted = false;

  constructor(sender: RTCRtpSender) {
    this.#sender = sender as unknown as SenderInternals;
  }

  /** Sends one packet; false when the transport is not ready (packet dropped, as werift does). */
  send(sequenceNumber: number, timestamp: number, marker: boolean, payload: Buffer): boolean {
    const s = this.#sender;
    const transport = s.dtlsTransport;
    const pair = transport?.iceTransport.connection.nominated;
    if (s.stopped || !s.codec || transport?.state !== "connected" || !transport.srtp || !pair) return false;
    const header = new RtpHeader({ ssrc: s.ssrc, payloadType: s.codec.payloadType, sequenceNumber, timestamp, marker });
    pair.protocol.transport.send(transport.srtp.encrypt(payload, header), pair.remoteAddr);
    s.rtpCache[sequenceNumber % RTP_HISTORY_SIZE] = new RtpPacket(header, payload); // for NACK (RFC 4585 6.2.1)
    s.sequenceNumber = sequenceNumber;
    s.timestamp = timestamp;
    s.packetCount = (s.packetCount + 1) >>> 0;
    s.octetCount = (s.octetCount + payload.length) >>> 0;
    return true;
  }

  /** After a frame: the RTP timestamp / wall clock pair RTCP sender reports carry (RFC 3550 6.4.1). */
  markSent(timestamp: number): void {
    const s = this.#sender;
    s.rtpTimestamp = timestamp;
    s.ntpTimestamp = ntpNow();
    if (!this.#rtcpStarted) {
      this.#rtcpStarted = true;
      void s.runRtcp();
    }
  }
}

/** The current time as a 64-bit NTP timestamp (RFC 5905 6): seconds since 1900 . 32-bit fraction. */
export function ntpNow(nowMs = Date.now()): bigint {
  const seconds = Math.floor(nowMs / 1000) + NTP_EPOCH_OFFSET_S;
  const fraction = Math.floor(((nowMs % 1000) / 1000) * 2 ** 32);
  return (BigInt(seconds) << 32n) | BigInt(fraction);
}

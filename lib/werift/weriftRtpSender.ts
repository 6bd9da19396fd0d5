import { RtpHeader, RtpPacket, type RTCRtpSender } from "werift";
import type { RtpSendPath } from "../webrtc/directRtpSender.ts";

/**
 * werift's own send path, RTCRtpSender.sendRtp, as an application would use
 * it: werift clones the packet, rewrites its header, encrypts and sends it
 * on the connection's socket, and answers NACKs from its cache. Much slower
 * than DirectRtpSender (FACTS.md: ~14 us per packet per viewer); kept as the
 * benchmark's baseline (RTP_SEND_PATH=werift).
 */
export class WeriftRtpSender implements RtpSendPath {
  readonly #sender: RTCRtpSender;
  #failures = 0;

  constructor(sender: RTCRtpSender) {
    this.#sender = sender;
  }

  get failures(): number {
    return this.#failures;
  }

  send(packetIndex: number, timestamp: number, marker: boolean, payload: Uint8Array): boolean {
    const header = new RtpHeader({ sequenceNumber: packetIndex & 0xffff, timestamp, marker });
    const body = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    this.#sender.sendRtp(new RtpPacket(header, body)).catch(() => this.#failures++);
    return true;
  }

  markSent(): void {} // werift keeps its own sender-report state in sendRtp
}

/**
 * Counts the RTP packets a load viewer receives and the sequence numbers it
 * never saw, per SSRC (RFC 3550 A.1's gap test; the header is in the clear
 * under SRTP, RFC 3711 3.1, so this works on encrypted packets too), and
 * tracks each SSRC's rollover counter (RFC 3711 3.3.1) from every packet, so
 * a sampled packet can be decrypted with its right ROC.
 */
export class RtpSequenceCount {
  packets = 0;
  lost = 0;
  readonly #sources = new Map<number, { lastSeq: number; rollovers: number }>();

  /** Counts `packet`; returns its rollover counter. */
  count(packet: Uint8Array): number {
    const ssrc = ((packet[8]! << 24) | (packet[9]! << 16) | (packet[10]! << 8) | packet[11]!) >>> 0;
    const seq = (packet[2]! << 8) | packet[3]!;
    this.packets++;
    const source = this.#sources.get(ssrc);
    if (!source) {
      this.#sources.set(ssrc, { lastSeq: seq, rollovers: 0 });
      return 0;
    }
    const gap = (seq - source.lastSeq - 1 + 0x10000) & 0xffff;
    if (gap >= 0x8000 - 1) return seq > source.lastSeq ? source.rollovers - 1 : source.rollovers; // a reordered, older packet
    this.lost += gap;
    if (seq < source.lastSeq) source.rollovers++;
    source.lastSeq = seq;
    return source.rollovers;
  }

  /** Starts the window: what came before is not counted. */
  reset(): void {
    [this.packets, this.lost] = [0, 0];
  }
}

/** RFC 5761 4: RTP, not RTCP (payload types 64-95 with the marker bit are RTCP's 192-223). */
export function isRtp(packet: Uint8Array): boolean {
  return packet.length >= 12 && packet[0]! >> 6 === 2 && !(packet[1]! >= 192 && packet[1]! <= 223);
}

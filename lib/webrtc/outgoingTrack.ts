import { randomInt } from "node:crypto";
import type { RtpPayload } from "../rtp/rtpPayload.ts";
import type { RtpSendPath } from "./directRtpSender.ts";

const UINT32 = 2 ** 32;

/**
 * One viewer's RTP state for one track: its own sequence numbers and timestamp
 * offset (RFC 3550 5.1: both start random), applied to the stream's shared
 * payloads, which are never modified.
 */
export class OutgoingTrack {
  packetsSent = 0;
  /** RFC 3711 3.3.1 packet index: rollover counter (starts at 0) * 65536 + sequence number (starts random). */
  #packetIndex = randomInt(0, 0x10000);
  #timestampOffset = randomInt(0, 0xffffffff);
  #lastTimestamp: number | undefined;
  #rebasePending = false;

  /** `frameStep`: RTP ticks of a typical frame, used to join two sessions (3000 at 90 kHz 30 fps, 960 for 20 ms Opus). */
  constructor(
    readonly path: RtpSendPath,
    readonly frameStep: number,
  ) {}

  /**
   * After a source switch (publisher reconnect, new request ID) the next frame
   * continues one frame after the last one sent, so the viewer's timeline stays
   * monotonic and the decoder just sees the next keyframe.
   */
  rebase(): void {
    this.#rebasePending = this.#lastTimestamp !== undefined;
  }

  /**
   * Sends one frame's payloads, synchronously. `timestampShift` moves this
   * frame's timestamps later (fast-start catch-up). `mediaTimeMs`: the
   * frame's time on the stream's media clock, for sender reports; omitted
   * for catch-up frames, whose squeezed timestamps are off that clock.
   */
  send(packets: RtpPayload[], timestampShift = 0, mediaTimeMs?: number): void {
    const last = packets.at(-1);
    if (!last) return;
    const timestampAdd = this.#timestampAdd(packets[0]!.timestamp, timestampShift);
    if (this.path.sendFrame?.(packets, this.#packetIndex + 1, timestampAdd)) {
      this.#packetIndex += packets.length;
      this.packetsSent += packets.length;
    } else {
      for (const { timestamp, marker, payload } of packets) {
        this.#packetIndex++;
        if (this.path.send(this.#packetIndex, mod32(timestamp + timestampAdd), marker, payload)) this.packetsSent++;
      }
    }
    this.#lastTimestamp = mod32(last.timestamp + timestampAdd);
    if (mediaTimeMs !== undefined) this.path.markSent(this.#lastTimestamp, mediaTimeMs);
  }

  /** What this frame's timestamps get added (mod 2^32): the session's offset, after a rebase the new one, and the shift. */
  #timestampAdd(firstSource: number, shift: number): number {
    if (this.#rebasePending) {
      this.#timestampOffset = mod32(this.#lastTimestamp! + this.frameStep - firstSource);
      this.#rebasePending = false;
    }
    return mod32(this.#timestampOffset + shift);
  }
}

function mod32(value: number): number {
  return ((value % UINT32) + UINT32) % UINT32;
}

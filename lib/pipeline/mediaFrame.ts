import type { RtpPayload } from "../rtp/rtpPayload.ts";

/**
 * One access unit, packetized once per stream and shared by every viewer.
 * Viewers never mutate it: they wrap each payload in their own RTP header.
 */
export interface MediaFrame {
  track: "video" | "audio";
  /** Video: holds an IDR. Audio: always true (every Opus packet decodes on its own). */
  keyframe: boolean;
  /** MPEG-TS PTS, 90 kHz, 33 bits. */
  pts: number;
  /** The wall-clock time (ms, Date.now() epoch) this PTS stands for on the stream's MediaClock, shared by its tracks. */
  mediaTimeMs: number;
  /** RTP payloads with their marker bits and 32-bit RTP timestamps. */
  packets: RtpPayload[];
  /** Sum of the payload sizes, for queue accounting. */
  bytes: number;
}

export function frameBytes(packets: RtpPayload[]): number {
  let total = 0;
  for (const p of packets) total += p.payload.byteLength;
  return total;
}

/**
 * The pipeline's currency: one tagged union for everything that flows between
 * the MPEG-TS demuxer / muxer, the RTP packetizers and depacketizers.
 *
 * Timestamps are MPEG-TS clock values: 90 kHz, 33 bits (0 .. 2^33 - 1), exactly as
 * they appear in a PES header (ISO/IEC 13818-1 2.4.3.7). Unwrapping across the
 * 33-bit wrap is the consumer's job (see lib/rtp/timestamps.ts).
 */

/** What the PMT says about one elementary stream. */
export interface TrackInfo {
  pid: number;
  /** ISO/IEC 13818-1 Table 2-34 stream_type. */
  streamType: number;
  kind: "video" | "audio" | "data";
  /** "h264", "opus", "aac", "hevc", "mpeg-audio", "ac3", "private", ... */
  codec: string;
  /** True for what Wisp can send over WebRTC (H.264, Opus). */
  playable: boolean;
  /** Why the track is not playable, for humans: `AAC cannot be sent over WebRTC; encode Opus (-c:a libopus)`. */
  reason?: string;
}

/** One H.264 access unit (one picture). */
export interface VideoAccessUnit {
  track: "video";
  pid: number;
  /** 90 kHz, 33 bits. */
  pts: number;
  /** 90 kHz, 33 bits; equal to pts when the PES carries no DTS. */
  dts: number;
  /** True when the access unit holds an IDR slice (nal_unit_type 5). */
  keyframe: boolean;
  /** NAL units without start codes, in decoding order (AUD/SEI/SPS/PPS included as sent). */
  nalus: Uint8Array[];
}

/** One Opus packet (RFC 6716 3), i.e. one RTP payload. */
export interface AudioAccessUnit {
  track: "audio";
  pid: number;
  /** 90 kHz, 33 bits. */
  pts: number;
  /** Duration in 48 kHz samples, from the TOC (RFC 6716 3.1). */
  samples: number;
  payload: Uint8Array;
}

export type AccessUnit = VideoAccessUnit | AudioAccessUnit;

/** MPEG-TS clock constants. */
export const PTS_CLOCK_HZ = 90_000;
export const PTS_WRAP = 2 ** 33; // PTS/DTS are 33-bit fields

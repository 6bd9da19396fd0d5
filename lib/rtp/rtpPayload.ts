/** One RTP packet's worth of media, shared by all viewers of a stream (never mutate it). */
export interface RtpPayload {
  payload: Uint8Array;
  marker: boolean;
  /** RTP timestamp, 32 bits, in the track's clock (90 kHz video, 48 kHz Opus). */
  timestamp: number;
}

/**
 * Whole RTP packet budget: fly.io and most tunnels carry 1280-byte IPv6-minimum
 * MTUs; 1280 - 40 (IPv6) - 8 (UDP) - 16 (SRTP AES-GCM tag) leaves 1216, minus margin.
 */
export const MAX_RTP_PACKET_SIZE = 1200;
/** 12-byte fixed RTP header (RFC 3550 5.1) + 16 bytes for header extensions werift may add (mid, abs-send-time). */
export const RTP_HEADER_RESERVE = 28;
export const MAX_RTP_PAYLOAD_SIZE = MAX_RTP_PACKET_SIZE - RTP_HEADER_RESERVE;

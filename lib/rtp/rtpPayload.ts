/** One RTP packet's worth of media, shared by all viewers of a stream (never mutate it). */
export interface RtpPayload {
  payload: Uint8Array;
  marker: boolean;
  /** RTP timestamp, 32 bits, in the track's clock (90 kHz video, 48 kHz Opus). */
  timestamp: number;
}

/**
 * Whole RTP packet budget in bytes, header included. The smallest path MTU we
 * must survive is IPv6's guaranteed 1280 (RFC 8200 5; fly.io's UDP path and
 * most tunnels sit at or above it): 1280 - 40 (IPv6 header) - 8 (UDP header)
 * - 16 (SRTP AEAD_AES_128_GCM tag, RFC 7714; AES_CM_128_HMAC_SHA1_80 needs
 * only 10) = 1216, minus 16 bytes of margin (e.g. a 4-byte TURN ChannelData
 * header) = 1200, the value libwebrtc and pion use.
 */
export const MAX_RTP_PACKET_SIZE = 1200;

/**
 * Bytes of each packet kept for the RTP header (RFC 3550 5.1) and the header
 * extensions werift's RTCRtpSender writes (RFC 8285 one-byte form): 12 (fixed
 * header, no CSRCs) + 4 (0xBEDE extension header) + 12 (elements, padded to
 * 32 bits: sdes:mid 1+up to 3 chars, abs-send-time 1+3, transport-cc 1+2 = 11)
 * = 28. A longer mid or an extra extension would eat into the 16-byte margin
 * of MAX_RTP_PACKET_SIZE before anything gets fragmented by IP.
 */
export const RTP_HEADER_RESERVE = 28;

/** Largest RTP payload in bytes: 1200 - 28 = 1172. */
export const MAX_RTP_PAYLOAD_SIZE = MAX_RTP_PACKET_SIZE - RTP_HEADER_RESERVE;

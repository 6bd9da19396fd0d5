/** The two SRTP protection profiles WebRTC negotiates over DTLS (RFC 5764 4.1.2, RFC 7714 14.2). */
export type SrtpProfile = "AEAD_AES_128_GCM" | "AES_CM_128_HMAC_SHA1_80";

/**
 * Session keys derived from the DTLS master key (RFC 3711 4.3.2): the same
 * shape for SRTP (labels 0x00 key, 0x01 authentication key, 0x02 salt) and
 * SRTCP (labels 0x03, 0x04, 0x05).
 */
export interface SessionKeys {
  profile: SrtpProfile;
  /** 16-byte session encryption key. */
  key: Uint8Array;
  /** Session salt: 12 bytes for GCM (RFC 7714 12), 14 for AES-CM (RFC 3711 4.3.3); longer input is cut. */
  salt: Uint8Array;
  /** 20-byte session authentication key; AES-CM only. */
  authKey?: Uint8Array;
}

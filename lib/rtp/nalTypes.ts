/**
 * The H.264 NAL unit header fields the RTP packetizer needs (ITU-T H.264
 * 7.3.1, Table 7-1; RFC 6184 5.3 and Table 1). Kept in lib/rtp so the
 * packetizer does not depend on lib/codec/h264.ts; the two may be merged.
 */
export const NAL_TYPE = {
  IDR: 5,
  SEI: 6,
  SPS: 7,
  PPS: 8,
  AUD: 9,
  FILLER: 12,
  /** RFC 6184 5.7.1 single-time aggregation packet. */
  STAP_A: 24,
  /** RFC 6184 5.8 fragmentation unit. */
  FU_A: 28,
} as const;

/** forbidden_zero_bit (F). */
export const NAL_F_MASK = 0x80;
/** nal_ref_idc (NRI), 2 bits. */
export const NAL_NRI_MASK = 0x60;
/** nal_unit_type, 5 bits. */
export const NAL_TYPE_MASK = 0x1f;

/** nal_unit_type of a NAL unit without start code; 0 (unspecified) for an empty one. */
export function nalType(nalu: Uint8Array): number {
  return (nalu[0] ?? 0) & NAL_TYPE_MASK;
}

/** H.264 helpers (ITU-T H.264): Annex B splitting, NAL types, SPS essentials. */

export const NAL = {
  NON_IDR: 1,
  IDR: 5,
  SEI: 6,
  SPS: 7,
  PPS: 8,
  AUD: 9,
  FILLER: 12,
  STAP_A: 24, // RFC 6184
  FU_A: 28, // RFC 6184
} as const;

/** forbidden_zero_bit (F), 7.3.1. */
export const NAL_F_MASK = 0x80;
/** nal_ref_idc (NRI), 2 bits. */
export const NAL_NRI_MASK = 0x60;
/** nal_unit_type, 5 bits. */
export const NAL_TYPE_MASK = 0x1f;

/** nal_unit_type of a NAL unit without start code; 0 (unspecified) for an empty one. */
export function nalType(nalu: Uint8Array): number {
  return (nalu[0] ?? 0) & NAL_TYPE_MASK;
}

/** Splits an Annex B byte stream (B.2) into NAL units without start codes; trailing zero bytes dropped. */
export function splitAnnexB(data: Uint8Array): Uint8Array[] {
  const starts: Array<{ at: number; codeLength: number }> = [];
  for (let i = 0; i + 2 < data.length; i++) {
    if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) {
      starts.push({ at: i, codeLength: 3 });
      i += 2;
    }
  }
  const nalus: Uint8Array[] = [];
  for (let k = 0; k < starts.length; k++) {
    const begin = starts[k]!.at + starts[k]!.codeLength;
    let end = k + 1 < starts.length ? starts[k + 1]!.at : data.length;
    while (end > begin && data[end - 1] === 0) end--; // trailing_zero_8bits / 4-byte start code's leading zero
    if (end > begin) nalus.push(data.subarray(begin, end));
  }
  return nalus;
}

export function isKeyframe(nalus: Uint8Array[]): boolean {
  return nalus.some((n) => nalType(n) === NAL.IDR);
}

export interface SpsInfo {
  profileIdc: number;
  levelIdc: number;
  /** e.g. "42e01f": profile_idc, constraint flags, level_idc as in SDP profile-level-id. */
  profile: string;
  width: number;
  height: number;
}

/** Removes emulation prevention bytes (00 00 03 -> 00 00), 7.4.1. */
export function unescapeRbsp(nalu: Uint8Array): Uint8Array {
  const out = new Uint8Array(nalu.length);
  let n = 0;
  let zeros = 0;
  for (const byte of nalu) {
    if (zeros >= 2 && byte === 3) {
      zeros = 0;
      continue;
    }
    zeros = byte === 0 ? zeros + 1 : 0;
    out[n++] = byte;
  }
  return out.subarray(0, n);
}

class BitReader {
  #bit = 0;
  constructor(readonly bytes: Uint8Array) {}
  u(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.bytes[this.#bit >> 3];
      if (byte === undefined) throw new RangeError("SPS ended early");
      v = v * 2 + ((byte >> (7 - (this.#bit & 7))) & 1);
      this.#bit++;
    }
    return v;
  }
  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) if (++zeros > 31) throw new RangeError("bad exp-Golomb code");
    return 2 ** zeros - 1 + this.u(zeros);
  }
  se(): number {
    const k = this.ue();
    return k % 2 ? (k + 1) / 2 : -(k / 2);
  }
}

const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** Parses an SPS NAL unit (7.3.2.1.1) far enough for the cropped picture size; undefined if malformed. */
export function parseSps(nalu: Uint8Array): SpsInfo | undefined {
  try {
    const r = new BitReader(unescapeRbsp(nalu.subarray(1)));
    const profileIdc = r.u(8);
    const constraints = r.u(8);
    const levelIdc = r.u(8);
    r.ue(); // seq_parameter_set_id
    let chromaFormatIdc = 1;
    if (HIGH_PROFILES.has(profileIdc)) {
      chromaFormatIdc = r.ue();
      if (chromaFormatIdc === 3) r.u(1); // separate_colour_plane_flag
      r.ue(); // bit_depth_luma_minus8
      r.ue(); // bit_depth_chroma_minus8
      r.u(1); // qpprime_y_zero_transform_bypass_flag
      if (r.u(1)) skipScalingLists(r, chromaFormatIdc === 3 ? 12 : 8);
    }
    r.ue(); // log2_max_frame_num_minus4
    const pocType = r.ue();
    if (pocType === 0) r.ue();
    else if (pocType === 1) {
      r.u(1);
      r.se();
      r.se();
      const cycle = r.ue();
      for (let i = 0; i < cycle; i++) r.se();
    }
    r.ue(); // max_num_ref_frames
    r.u(1); // gaps_in_frame_num_value_allowed_flag
    const widthMbs = r.ue() + 1;
    const heightMapUnits = r.ue() + 1;
    const frameMbsOnly = r.u(1);
    if (!frameMbsOnly) r.u(1); // mb_adaptive_frame_field_flag
    r.u(1); // direct_8x8_inference_flag
    let crop = { left: 0, right: 0, top: 0, bottom: 0 };
    if (r.u(1)) crop = { left: r.ue(), right: r.ue(), top: r.ue(), bottom: r.ue() };
    // Table 6-1: crop units depend on chroma subsampling.
    const cropX = chromaFormatIdc === 0 || chromaFormatIdc === 3 ? 1 : 2;
    const cropY = (chromaFormatIdc === 1 ? 2 : 1) * (2 - frameMbsOnly);
    const width = widthMbs * 16 - cropX * (crop.left + crop.right);
    const height = (2 - frameMbsOnly) * heightMapUnits * 16 - cropY * (crop.top + crop.bottom);
    const hex = (v: number) => v.toString(16).padStart(2, "0");
    return { profileIdc, levelIdc, profile: hex(profileIdc) + hex(constraints) + hex(levelIdc), width, height };
  } catch {
    return undefined; // malformed SPS: callers treat the resolution as unknown
  }
}

function skipScalingLists(r: BitReader, count: number): void {
  for (let i = 0; i < count; i++) {
    if (!r.u(1)) continue;
    const size = i < 6 ? 16 : 64;
    let last = 8;
    let next = 8;
    for (let j = 0; j < size; j++) {
      if (next !== 0) next = (last + r.se() + 256) % 256;
      last = next === 0 ? last : next;
    }
  }
}

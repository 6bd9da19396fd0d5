/** H.264 helpers (ITU-T H.264): Annex B splitting, NAL unit types, SPS essentials. */

/** nal_unit_type values (Table 7-1), plus the RFC 6184 aggregation/fragmentation types. */
export const NAL = {
  NON_IDR: 1,
  IDR: 5,
  SEI: 6,
  SPS: 7,
  PPS: 8,
  AUD: 9,
  FILLER: 12,
  STAP_A: 24, // RFC 6184 5.7.1
  FU_A: 28, // RFC 6184 5.8
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

/** True for a coded slice (types 1..5). */
export function isSlice(nalu: Uint8Array): boolean {
  const type = nalType(nalu);
  return type >= NAL.NON_IDR && type <= NAL.IDR;
}

/** True when the access unit holds an IDR slice (nal_unit_type 5). */
export function isKeyframe(nalus: Uint8Array[]): boolean {
  return nalus.some((n) => nalType(n) === NAL.IDR);
}

/**
 * Splits an Annex B byte stream (B.2) into NAL units without start codes.
 * Start codes are 00 00 01, with or without a leading zero_byte (4-byte form);
 * trailing zero bytes (trailing_zero_8bits, the next zero_byte) are dropped,
 * and so are bytes before the first start code. Returns views into `data`.
 */
export function splitAnnexB(data: Uint8Array): Uint8Array[] {
  const nalus: Uint8Array[] = [];
  let begin = -1; // first byte of the current NAL unit, -1 before the first start code
  for (let one = data.indexOf(1, 2); one !== -1; one = data.indexOf(1, one + 1)) {
    if (data[one - 1] !== 0 || data[one - 2] !== 0) continue;
    if (begin >= 0) pushTrimmed(nalus, data, begin, one - 2);
    begin = one + 1;
  }
  if (begin >= 0) pushTrimmed(nalus, data, begin, data.length);
  return nalus;
}

function pushTrimmed(nalus: Uint8Array[], data: Uint8Array, begin: number, end: number): void {
  let last = end;
  while (last > begin && data[last - 1] === 0) last--;
  if (last > begin) nalus.push(data.subarray(begin, last));
}

/** Removes emulation_prevention_three_bytes (00 00 03 -> 00 00), 7.3.1 / 7.4.1. */
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

/** Reads bits MSB first (7.2 read_bits, 9.1 ue(v)/se(v)); past the end it reads zeros and sets `overrun`. */
export class BitReader {
  overrun = false;
  #bit = 0;
  constructor(readonly bytes: Uint8Array) {}

  u(n: number): number {
    let value = 0;
    for (let k = 0; k < n; k++) {
      const byte = this.bytes[this.#bit >> 3];
      if (byte === undefined) this.overrun = true;
      value = value * 2 + (((byte ?? 0) >> (7 - (this.#bit & 7))) & 1);
      this.#bit++;
    }
    return value;
  }

  /** 9.1 Exp-Golomb ue(v); codes longer than 32 bits (not valid in an SPS) set `overrun`. */
  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) {
      if (this.overrun || ++zeros > 32) {
        this.overrun = true;
        return 0;
      }
    }
    return 2 ** zeros - 1 + this.u(zeros);
  }

  /** 9.1.1 se(v): 1, -1, 2, -2, ... */
  se(): number {
    const k = this.ue();
    if (k === 0) return 0;
    return k % 2 ? (k + 1) / 2 : -(k / 2);
  }
}

export interface SpsInfo {
  profileIdc: number;
  /** constraint_set0..5 flags and 2 reserved bits, as one byte. */
  constraintFlags: number;
  levelIdc: number;
  /** profile_idc, constraint byte, level_idc in hex, as in SDP profile-level-id (RFC 6184 8.1): "42c01e". */
  profile: string;
  /** Displayed size: coded macroblocks minus the frame cropping. */
  width: number;
  height: number;
}

/** 7.3.2.1.1: profiles whose SPS carries chroma_format_idc, bit depths and scaling matrices. */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);
/** 7.4.2.1.1 limits, checked so a corrupt SPS is rejected rather than misread. */
const MAX_SPS_ID = 31;
const MAX_POC_CYCLE = 255;
const MB_SIZE = 16; // luma samples per macroblock side
/** Crop units per ChromaArrayType (Table 6-1 SubWidthC, SubHeightC; 1 for monochrome / separate planes). */
const CROP_UNITS: ReadonlyArray<readonly [number, number]> = [[1, 1], [2, 2], [2, 1], [1, 1]];

/** Parses an SPS NAL unit (7.3.2.1.1) far enough for the displayed picture size; undefined if malformed. */
export function parseSps(nalu: Uint8Array): SpsInfo | undefined {
  if (nalType(nalu) !== NAL.SPS) return undefined;
  const r = new BitReader(unescapeRbsp(nalu.subarray(1)));
  const profileIdc = r.u(8);
  const constraintFlags = r.u(8);
  const levelIdc = r.u(8);
  if (r.ue() > MAX_SPS_ID) return undefined; // seq_parameter_set_id
  const chroma = HIGH_PROFILES.has(profileIdc) ? readChromaAndScaling(r) : { chromaArrayType: 1 };
  if (chroma === undefined || !skipFrameNumAndPoc(r)) return undefined;
  r.ue(); // max_num_ref_frames
  r.u(1); // gaps_in_frame_num_value_allowed_flag
  const widthInMbs = r.ue() + 1; // pic_width_in_mbs_minus1
  const heightInMapUnits = r.ue() + 1; // pic_height_in_map_units_minus1
  const frameMbsOnly = r.u(1);
  if (!frameMbsOnly) r.u(1); // mb_adaptive_frame_field_flag
  r.u(1); // direct_8x8_inference_flag
  const crop = r.u(1)
    ? { left: r.ue(), right: r.ue(), top: r.ue(), bottom: r.ue() }
    : { left: 0, right: 0, top: 0, bottom: 0 };
  if (r.overrun) return undefined;
  // 7.4.2.1.1 (7-19)..(7-22): crop units depend on chroma subsampling and field coding.
  const fieldFactor = 2 - frameMbsOnly;
  const [cropUnitX, cropUnitY] = CROP_UNITS[chroma.chromaArrayType]!;
  const width = widthInMbs * MB_SIZE - cropUnitX * (crop.left + crop.right);
  const height = fieldFactor * (heightInMapUnits * MB_SIZE - cropUnitY * (crop.top + crop.bottom));
  if (width <= 0 || height <= 0) return undefined;
  const hex = (v: number) => v.toString(16).padStart(2, "0");
  return {
    profileIdc,
    constraintFlags,
    levelIdc,
    profile: hex(profileIdc) + hex(constraintFlags) + hex(levelIdc),
    width,
    height,
  };
}

/** High-profile fields: chroma_format_idc .. seq_scaling_matrix_present_flag; ChromaArrayType (7.4.2.1.1). */
function readChromaAndScaling(r: BitReader): { chromaArrayType: number } | undefined {
  const chromaFormatIdc = r.ue();
  if (chromaFormatIdc > 3) return undefined;
  const separateColourPlanes = chromaFormatIdc === 3 ? r.u(1) : 0;
  r.ue(); // bit_depth_luma_minus8
  r.ue(); // bit_depth_chroma_minus8
  r.u(1); // qpprime_y_zero_transform_bypass_flag
  if (r.u(1)) {
    // seq_scaling_matrix_present_flag: 7.3.2.1.1.1 scaling_list() for 6 4x4 lists, then 2 or 6 8x8 lists.
    const lists = chromaFormatIdc === 3 ? 12 : 8;
    for (let i = 0; i < lists && !r.overrun; i++) if (r.u(1)) skipScalingList(r, i < 6 ? 16 : 64);
  }
  return { chromaArrayType: separateColourPlanes ? 0 : chromaFormatIdc };
}

/** 7.3.2.1.1.1 scaling_list(): delta-coded, ends early when nextScale becomes 0. */
function skipScalingList(r: BitReader, size: number): void {
  let lastScale = 8;
  let nextScale = 8;
  for (let j = 0; j < size && !r.overrun; j++) {
    if (nextScale !== 0) nextScale = (lastScale + r.se() + 256) % 256;
    lastScale = nextScale === 0 ? lastScale : nextScale;
  }
}

/** log2_max_frame_num_minus4 and the pic_order_cnt_type fields; false if malformed. */
function skipFrameNumAndPoc(r: BitReader): boolean {
  r.ue(); // log2_max_frame_num_minus4
  const pocType = r.ue();
  if (pocType === 0) r.ue(); // log2_max_pic_order_cnt_lsb_minus4
  else if (pocType === 1) {
    r.u(1); // delta_pic_order_always_zero_flag
    r.se(); // offset_for_non_ref_pic
    r.se(); // offset_for_top_to_bottom_field
    const cycle = r.ue(); // num_ref_frames_in_pic_order_cnt_cycle
    if (cycle > MAX_POC_CYCLE) return false;
    for (let i = 0; i < cycle; i++) r.se(); // offset_for_ref_frame[i]
  } else if (pocType !== 2) return false;
  return !r.overrun;
}

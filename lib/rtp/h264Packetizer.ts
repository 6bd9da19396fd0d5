import type { VideoAccessUnit } from "../accessUnit.ts";
import { NAL as NAL_TYPE, NAL_F_MASK, NAL_NRI_MASK, NAL_TYPE_MASK, nalType } from "../codec/h264.ts";
import { MAX_RTP_PAYLOAD_SIZE, type RtpPayload } from "./rtpPayload.ts";
import { videoRtpTimestamp } from "./timestamps.ts";

/** RFC 6184 5.8: FU indicator + FU header in front of each fragment. */
const FU_A_HEADER_SIZE = 2;
/** Smallest usable payload budget: an FU-A header plus one byte of NAL unit. */
const MIN_PAYLOAD_SIZE = FU_A_HEADER_SIZE + 1;
/** RFC 6184 5.7.1: STAP-A header byte in front of the aggregated NAL units. */
const STAP_A_HEADER_SIZE = 1;
/** RFC 6184 5.7.1: each aggregated NAL unit is preceded by a 16-bit size. */
const STAP_A_SIZE_FIELD = 2;
const STAP_A_MAX_NAL_SIZE = 0xffff;
/** FU header bits (RFC 6184 5.8): S = first fragment, E = last fragment. */
const FU_START = 0x80;
const FU_END = 0x40;

export interface H264PacketizeError {
  kind: "empty-nal" | "unsendable-nal-type" | "no-parameter-sets";
  message: string;
}

export interface H264PacketizerOptions {
  /** Largest RTP payload in bytes; default MAX_RTP_PAYLOAD_SIZE (1172). At least 3. */
  maxPayloadSize?: number;
  /** Non-fatal problems, also counted in `decodeErrors`; packetizing goes on. */
  onDecodeError?: (error: H264PacketizeError) => void;
}

/**
 * H.264 RTP packetizer, RFC 6184 packetization-mode 1 (non-interleaved):
 * single NAL unit packets (5.6), STAP-A for SPS+PPS (5.7.1), FU-A for NAL units
 * above the payload budget (5.8). The latest SPS/PPS are sent before every IDR,
 * so a viewer joining at any keyframe can decode it, even when the source sent
 * them only once. Output payloads may share memory with the input NAL units.
 */
export class H264Packetizer {
  #decodeErrors = 0;
  readonly #maxPayload: number;
  readonly #onDecodeError: (error: H264PacketizeError) => void;
  #sps: Uint8Array | undefined;
  #pps: Uint8Array | undefined;

  constructor(options: H264PacketizerOptions = {}) {
    const max = options.maxPayloadSize ?? MAX_RTP_PAYLOAD_SIZE;
    if (!Number.isInteger(max) || max < MIN_PAYLOAD_SIZE) {
      throw new RangeError(
        `H264Packetizer: maxPayloadSize must be an integer >= ${MIN_PAYLOAD_SIZE} (FU-A header + 1 byte), got ${max}`,
      );
    }
    this.#maxPayload = max;
    this.#onDecodeError = options.onDecodeError ?? (() => {});
  }

  /** Problems reported through `onDecodeError` so far. */
  get decodeErrors(): number {
    return this.#decodeErrors;
  }

  /** RTP payloads for one access unit, in sending order; the marker is on the last (RFC 6184 5.1). */
  packetize(unit: VideoAccessUnit): RtpPayload[] {
    const nalus = this.#sendable(unit);
    const payloads: Uint8Array[] = [];
    if (unit.keyframe) payloads.push(...this.#parameterSets(nalus, unit.pts));
    for (const nalu of nalus) {
      const type = nalType(nalu);
      if (type === NAL_TYPE.SPS) this.#sps = nalu.slice(); // a copy: do not pin the demuxer's PES buffer
      if (type === NAL_TYPE.PPS) this.#pps = nalu.slice();
      if (unit.keyframe && (type === NAL_TYPE.SPS || type === NAL_TYPE.PPS)) continue; // sent above
      payloads.push(...this.#fragment(nalu));
    }
    const timestamp = videoRtpTimestamp(unit.pts);
    return payloads.map((payload, i) => ({ payload, marker: i === payloads.length - 1, timestamp }));
  }

  /**
   * Drops what a WebRTC decoder does not need (AUD, filler data) and what RTP
   * cannot carry as a single NAL unit packet: types 0 and 24-31 would be read
   * as aggregation or fragmentation packets (RFC 6184 5.6, Table 3).
   */
  #sendable(unit: VideoAccessUnit): Uint8Array[] {
    return unit.nalus.filter((nalu) => {
      const type = nalType(nalu);
      if (type === NAL_TYPE.AUD || type === NAL_TYPE.FILLER) return false;
      if (nalu.length === 0) {
        this.#report("empty-nal", `dropped an empty NAL unit in the access unit at pts ${unit.pts}`);
        return false;
      }
      if (type === 0 || type >= NAL_TYPE.STAP_A) {
        this.#report(
          "unsendable-nal-type",
          `dropped a NAL unit of type ${type} (${nalu.length} bytes) at pts ${unit.pts}: RFC 6184 single NAL unit packets carry types 1-23 only`,
        );
        return false;
      }
      return true;
    });
  }

  /**
   * The SPS and PPS to send before an IDR: the access unit's own if it has
   * them, else the latest seen. One STAP-A when it fits, else single NAL units.
   */
  #parameterSets(nalus: Uint8Array[], pts: number): Uint8Array[] {
    const ownSps = nalus.filter((n) => nalType(n) === NAL_TYPE.SPS);
    const ownPps = nalus.filter((n) => nalType(n) === NAL_TYPE.PPS);
    const sps = ownSps.length > 0 ? ownSps : this.#sps ? [this.#sps] : [];
    const pps = ownPps.length > 0 ? ownPps : this.#pps ? [this.#pps] : [];
    if (sps.length === 0 || pps.length === 0) {
      const missing = [sps.length === 0 ? "SPS" : "", pps.length === 0 ? "PPS" : ""].filter(Boolean).join(" and ");
      this.#report(
        "no-parameter-sets",
        `IDR access unit at pts ${pts} sent without ${missing}: none in it and none seen before; viewers cannot decode it`,
      );
    }
    const sets = [...sps, ...pps];
    const stapSize = STAP_A_HEADER_SIZE + sets.reduce((sum, n) => sum + STAP_A_SIZE_FIELD + n.length, 0);
    const aggregatable = sets.length >= 2 && sets.every((n) => n.length <= STAP_A_MAX_NAL_SIZE);
    if (aggregatable && stapSize <= this.#maxPayload) return [stapA(sets, stapSize)];
    return sets.flatMap((n) => this.#fragment(n));
  }

  /** RFC 6184 5.6 single NAL unit packet when it fits, else 5.8 FU-A fragments. */
  #fragment(nalu: Uint8Array): Uint8Array[] {
    return nalu.length <= this.#maxPayload ? [nalu] : fuA(nalu, this.#maxPayload);
  }

  #report(kind: H264PacketizeError["kind"], message: string): void {
    this.#decodeErrors++;
    this.#onDecodeError({ kind, message });
  }
}

/**
 * RFC 6184 5.7.1 STAP-A: header byte (F = OR of the F bits, NRI = the largest
 * NRI, type 24; 5.7 and 5.7.1), then each NAL unit preceded by its 16-bit size.
 */
function stapA(nalus: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let forbidden = 0;
  let nri = 0;
  for (const n of nalus) {
    forbidden |= n[0]! & NAL_F_MASK;
    nri = Math.max(nri, n[0]! & NAL_NRI_MASK);
  }
  out[0] = forbidden | nri | NAL_TYPE.STAP_A;
  let offset = STAP_A_HEADER_SIZE;
  for (const n of nalus) {
    out[offset] = n.length >> 8;
    out[offset + 1] = n.length & 0xff;
    out.set(n, offset + STAP_A_SIZE_FIELD);
    offset += STAP_A_SIZE_FIELD + n.length;
  }
  return out;
}

/**
 * RFC 6184 5.8 FU-A: FU indicator (F | NRI | 28), FU header (S | E | R=0 |
 * type), then a slice of the NAL unit after its header byte (the header is
 * carried by the indicator and FU header, not repeated). The fewest fragments
 * that fit the budget, all of one size but the last, which is a little shorter.
 */
function fuA(nalu: Uint8Array, maxPayload: number): Uint8Array[] {
  const header = nalu[0]!;
  const body = nalu.subarray(1);
  const count = Math.ceil(body.length / (maxPayload - FU_A_HEADER_SIZE));
  // Balanced, so the last fragment is not a sliver; all but the last the same size, so a
  // viewer's run of them leaves as one UDP GSO send (lib/udp/gsoBatchSender.ts).
  // ceil(b / ceil(b / m)) * (count - 1) < b for every b and m: the last is never empty.
  const fullSize = Math.ceil(body.length / count);
  const fragments: Uint8Array[] = [];
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const size = i < count - 1 ? fullSize : body.length - offset;
    const out = new Uint8Array(FU_A_HEADER_SIZE + size);
    out[0] = (header & (NAL_F_MASK | NAL_NRI_MASK)) | NAL_TYPE.FU_A;
    out[1] = (i === 0 ? FU_START : 0) | (i === count - 1 ? FU_END : 0) | (header & NAL_TYPE_MASK);
    out.set(body.subarray(offset, offset + size), FU_A_HEADER_SIZE);
    offset += size;
    fragments.push(out);
  }
  return fragments;
}

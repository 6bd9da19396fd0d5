import type { VideoAccessUnit } from "../accessUnit.ts";
import { NAL, nalType } from "../codec/h264.ts";
import { MAX_RTP_PAYLOAD_SIZE, type RtpPayload } from "./rtpPayload.ts";
import { videoRtpTimestamp } from "./timestamps.ts";

export interface H264PacketizerOptions {
  maxPayloadSize?: number;
}

/**
 * H.264 RTP packetizer, RFC 6184 packetization-mode 1 (non-interleaved):
 * single NAL unit packets (5.6), STAP-A for SPS+PPS (5.7.1), FU-A for NAL units
 * above the payload budget (5.8). The latest SPS/PPS are sent before every IDR,
 * so a viewer joining at any keyframe can decode it.
 */
export class H264Packetizer {
  readonly #maxPayload: number;
  #sps: Uint8Array | undefined;
  #pps: Uint8Array | undefined;

  constructor(options: H264PacketizerOptions = {}) {
    this.#maxPayload = options.maxPayloadSize ?? MAX_RTP_PAYLOAD_SIZE;
  }

  packetize(unit: VideoAccessUnit): RtpPayload[] {
    // AUD and filler carry nothing a WebRTC decoder needs (RFC 6184 does not require them).
    const nalus = unit.nalus.filter((n) => n.length > 0 && nalType(n) !== NAL.AUD && nalType(n) !== NAL.FILLER);
    for (const n of nalus) {
      if (nalType(n) === NAL.SPS) this.#sps = n;
      if (nalType(n) === NAL.PPS) this.#pps = n;
    }
    const payloads: Uint8Array[] = [];
    if (unit.keyframe) payloads.push(...this.#parameterSets(nalus));
    for (const nalu of nalus) {
      if (unit.keyframe && (nalType(nalu) === NAL.SPS || nalType(nalu) === NAL.PPS)) continue; // sent above
      payloads.push(...this.#fragment(nalu));
    }
    const timestamp = videoRtpTimestamp(unit.pts);
    return payloads.map((payload, i) => ({ payload, marker: i === payloads.length - 1, timestamp }));
  }

  /** SPS+PPS as one STAP-A when they fit, else as single NAL units. */
  #parameterSets(nalus: Uint8Array[]): Uint8Array[] {
    const sps = nalus.find((n) => nalType(n) === NAL.SPS) ?? this.#sps;
    const pps = nalus.find((n) => nalType(n) === NAL.PPS) ?? this.#pps;
    const sets = [sps, pps].filter((n): n is Uint8Array => n !== undefined);
    if (sets.length < 2) return sets.flatMap((n) => this.#fragment(n));
    const stapSize = 1 + sets.reduce((sum, n) => sum + 2 + n.length, 0);
    if (stapSize > this.#maxPayload) return sets.flatMap((n) => this.#fragment(n));
    return [stapA(sets, stapSize)];
  }

  #fragment(nalu: Uint8Array): Uint8Array[] {
    if (nalu.length <= this.#maxPayload) return [nalu];
    return fuA(nalu, this.#maxPayload);
  }
}

/** RFC 6184 5.7.1: STAP-A header (F | max NRI | 24), then each NAL with a 16-bit size. */
function stapA(nalus: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let nri = 0;
  for (const n of nalus) nri = Math.max(nri, n[0]! & 0x60);
  const forbidden = nalus.some((n) => n[0]! & 0x80) ? 0x80 : 0;
  out[0] = forbidden | nri | NAL.STAP_A;
  let offset = 1;
  for (const n of nalus) {
    out[offset] = n.length >> 8;
    out[offset + 1] = n.length & 0xff;
    out.set(n, offset + 2);
    offset += 2 + n.length;
  }
  return out;
}

/**
 * RFC 6184 5.8: FU indicator (F | NRI | 28), FU header (S | E | R | type), then
 * a slice of the NAL payload (its header byte is carried in the indicator and
 * FU header, not repeated). Fragments are made as equal in size as possible.
 */
function fuA(nalu: Uint8Array, maxPayload: number): Uint8Array[] {
  const header = nalu[0]!;
  const body = nalu.subarray(1);
  const perFragment = maxPayload - 2;
  const count = Math.ceil(body.length / perFragment);
  const size = Math.ceil(body.length / count);
  const fragments: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const part = body.subarray(i * size, Math.min(body.length, (i + 1) * size));
    const out = new Uint8Array(2 + part.length);
    out[0] = (header & 0xe0) | NAL.FU_A;
    out[1] = (i === 0 ? 0x80 : 0) | (i === count - 1 ? 0x40 : 0) | (header & 0x1f);
    out.set(part, 2);
    fragments.push(out);
  }
  return fragments;
}

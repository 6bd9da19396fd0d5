import type { VideoAccessUnit } from "../accessUnit.ts";
import { parseSps } from "../codec/h264.ts";

const NAL_TYPE_SPS = 7; // ITU-T H.264 Table 7-1

/**
 * Watches a stream's H.264 access units for what a viewer needs to know:
 * the resolution (from the SPS) and B-frames, which browsers cannot play over
 * WebRTC (FACTS.md: only keyframes decode), detected as PTS != DTS.
 */
export class VideoProbe {
  resolution: { width: number; height: number; profile: string } | undefined;
  readonly warnings: string[] = [];
  #lastSps: Uint8Array | undefined;
  #bFramesReported = false;

  /** Returns a warning the first time a problem shows. */
  inspect(unit: VideoAccessUnit): string | undefined {
    for (const nalu of unit.nalus) {
      if ((nalu[0]! & 0x1f) === NAL_TYPE_SPS && !sameBytes(nalu, this.#lastSps)) this.#readSps(nalu);
    }
    if (unit.pts !== unit.dts && !this.#bFramesReported) {
      this.#bFramesReported = true;
      const warning =
        "H.264 has B-frames (PTS != DTS): browsers decode only its keyframes over WebRTC; encode with -bf 0";
      this.warnings.push(warning);
      return warning;
    }
    return undefined;
  }

  #readSps(nalu: Uint8Array): void {
    this.#lastSps = nalu;
    const sps = parseSps(nalu);
    if (sps) this.resolution = { width: sps.width, height: sps.height, profile: sps.profile };
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array | undefined): boolean {
  if (!b || a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

import { TsKeyframeScanner } from "../../lib/mpegts/tsKeyframeScanner.ts";
import { TS_PACKET_SIZE } from "../../lib/mpegts/tsPacket.ts";

const packetsOf = (bytes: Uint8Array) =>
  Array.from(
    { length: Math.floor(bytes.length / TS_PACKET_SIZE) },
    (_, i) => bytes.subarray(i * TS_PACKET_SIZE, (i + 1) * TS_PACKET_SIZE),
  );
const same = (a: Uint8Array, b: Uint8Array | undefined) => b !== undefined && a.every((byte, i) => byte === b[i]);
const pidOf = (p: Uint8Array | undefined) => (p ? ((p[1]! & 0x1f) << 8) | p[2]! : -1);

/**
 * Checks that `output` is `input` with stretches left out, where every gap is
 * followed by a PAT packet, a PMT packet (PID `pmtPid`) and then an input
 * packet that starts a keyframe, after which the input goes on in order.
 * Returns how many such resumes there are; throws saying where it broke.
 */
export function countResumes(input: Uint8Array, output: Uint8Array, pmtPid: number): number {
  const inputPackets = packetsOf(input);
  const keyframes = new TsKeyframeScanner().push(input).map((p) => p.keyframe);
  const outputPackets = packetsOf(output);
  let next = 0; // the input packet expected next when nothing was left out
  let resumes = 0;
  for (let i = 0; i < outputPackets.length;) {
    const packet = outputPackets[i]!;
    if (same(packet, inputPackets[next])) {
      i++;
      next++;
      continue;
    }
    if (pidOf(packet) !== 0 || pidOf(outputPackets[i + 1]) !== pmtPid) {
      throw new Error(`output packet ${i} (PID ${pidOf(packet)}) is neither the next input packet nor a PAT`);
    }
    const resumedAt = outputPackets[i + 2];
    const at = inputPackets.findIndex((p, k) => k >= next && keyframes[k] && same(resumedAt!, p));
    if (at < 0) throw new Error(`output packet ${i + 2}, after PAT and PMT, is no keyframe of the input`);
    resumes++;
    next = at + 1;
    i += 3;
  }
  return resumes;
}

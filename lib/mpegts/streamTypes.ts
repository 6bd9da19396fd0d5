import type { TrackInfo } from "../accessUnit.ts";
import type { PmtStream } from "./psi.ts";

const REGISTRATION_DESCRIPTOR = 0x05; // ISO/IEC 13818-1 2.6.8
const OPUS = "Opus";

type Known = Omit<TrackInfo, "pid" | "streamType">;

const ENCODE_OPUS = "encode Opus (ffmpeg -c:a libopus)";
const ENCODE_H264 = "encode H.264 (ffmpeg -c:v libx264 -bf 0)";

/** ISO/IEC 13818-1 Table 2-34 stream_type values Wisp names; anything else is "unknown". */
const BY_STREAM_TYPE: Record<number, Known> = {
  0x1b: { kind: "video", codec: "h264", playable: true },
  0x24: { kind: "video", codec: "hevc", playable: false, reason: `HEVC cannot be sent over WebRTC here; ${ENCODE_H264}` },
  0x01: { kind: "video", codec: "mpeg1-video", playable: false, reason: `MPEG-1 video cannot be sent over WebRTC; ${ENCODE_H264}` },
  0x02: { kind: "video", codec: "mpeg2-video", playable: false, reason: `MPEG-2 video cannot be sent over WebRTC; ${ENCODE_H264}` },
  0x10: { kind: "video", codec: "mpeg4-video", playable: false, reason: `MPEG-4 part 2 cannot be sent over WebRTC; ${ENCODE_H264}` },
  0x03: { kind: "audio", codec: "mpeg-audio", playable: false, reason: `MPEG audio cannot be sent over WebRTC; ${ENCODE_OPUS}` },
  0x04: { kind: "audio", codec: "mpeg-audio", playable: false, reason: `MPEG audio cannot be sent over WebRTC; ${ENCODE_OPUS}` },
  0x0f: { kind: "audio", codec: "aac", playable: false, reason: `AAC cannot be sent over WebRTC; ${ENCODE_OPUS}` },
  0x11: { kind: "audio", codec: "aac-latm", playable: false, reason: `AAC cannot be sent over WebRTC; ${ENCODE_OPUS}` },
  0x81: { kind: "audio", codec: "ac3", playable: false, reason: `AC-3 cannot be sent over WebRTC; ${ENCODE_OPUS}` },
  0x87: { kind: "audio", codec: "eac3", playable: false, reason: `E-AC-3 cannot be sent over WebRTC; ${ENCODE_OPUS}` },
  0x15: { kind: "data", codec: "metadata", playable: false, reason: "timed metadata is not sent to viewers" },
  0x86: { kind: "data", codec: "scte35", playable: false, reason: "SCTE-35 cues are not sent to viewers" },
};

/** What one PMT entry is, for playback and for the API. */
export function describeStream(stream: PmtStream): TrackInfo {
  const base = { pid: stream.pid, streamType: stream.streamType };
  if (stream.streamType === 0x06) {
    // PES private data: Opus is recognised by its registration descriptor (format_identifier "Opus").
    if (hasRegistration(stream, OPUS)) return { ...base, kind: "audio", codec: "opus", playable: true };
    return { ...base, kind: "data", codec: "private", playable: false, reason: "private data (stream_type 0x06) is not sent to viewers" };
  }
  const known = BY_STREAM_TYPE[stream.streamType];
  if (known) return { ...base, ...known };
  const hex = `0x${stream.streamType.toString(16).padStart(2, "0")}`;
  return { ...base, kind: "data", codec: "unknown", playable: false, reason: `stream_type ${hex} is not supported` };
}

function hasRegistration(stream: PmtStream, formatIdentifier: string): boolean {
  return stream.descriptors.some(
    (d) => d.tag === REGISTRATION_DESCRIPTOR && new TextDecoder().decode(d.data.subarray(0, 4)) === formatIdentifier,
  );
}

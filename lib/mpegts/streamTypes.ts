/** What each PMT entry is (ISO/IEC 13818-1 Table 2-34 stream_type) and whether Wisp can play it. */
import type { TrackInfo } from "../accessUnit.ts";
import { type Descriptor, type PmtStream, registrationFormat } from "./psi.ts";

/** stream_type 0x06: PES packets containing private data; the descriptors say what. */
const STREAM_TYPE_PRIVATE_PES = 0x06;
/** Opus in MPEG-TS: format_identifier "Opus" in a registration descriptor (ETSI TS Opus draft 0.1.3). */
const OPUS_FORMAT_IDENTIFIER = "Opus";
/** ETSI EN 300 468 descriptors that name what a stream_type 0x06 stream carries. */
const DVB_AC3_DESCRIPTOR_TAG = 0x6a;
const DVB_ENHANCED_AC3_DESCRIPTOR_TAG = 0x7a;
const DVB_TELETEXT_DESCRIPTOR_TAG = 0x56;
const DVB_SUBTITLING_DESCRIPTOR_TAG = 0x59;

type Known = Omit<TrackInfo, "pid" | "streamType">;

const ENCODE_OPUS = "encode Opus (ffmpeg -c:a libopus)";
const ENCODE_H264 = "encode H.264 without B-frames (ffmpeg -c:v libx264 -bf 0)";
const notPlayableAudio = (codec: string, name: string): Known => ({
  kind: "audio",
  codec,
  playable: false,
  reason: `${name} cannot be sent over WebRTC; ${ENCODE_OPUS}`,
});
const notPlayableVideo = (codec: string, name: string): Known => ({
  kind: "video",
  codec,
  playable: false,
  reason: `${name} cannot be sent over WebRTC by Wisp; ${ENCODE_H264}`,
});

/** Table 2-34 (and ATSC A/52 for 0x81/0x87, SCTE 35 for 0x86) values Wisp names. */
const BY_STREAM_TYPE: ReadonlyMap<number, Known> = new Map(
  [
    [0x1b, { kind: "video", codec: "h264", playable: true }],
    [0x01, notPlayableVideo("mpeg1-video", "MPEG-1 video")],
    [0x02, notPlayableVideo("mpeg2-video", "MPEG-2 video")],
    [0x10, notPlayableVideo("mpeg4-video", "MPEG-4 part 2 video")],
    [0x24, notPlayableVideo("hevc", "HEVC (H.265)")],
    [0x33, notPlayableVideo("vvc", "VVC (H.266)")],
    [0x03, notPlayableAudio("mpeg-audio", "MPEG-1 audio")],
    [0x04, notPlayableAudio("mpeg-audio", "MPEG-2 audio")],
    [0x0f, notPlayableAudio("aac", "AAC")],
    [0x11, notPlayableAudio("aac-latm", "AAC (LATM)")],
    [0x81, notPlayableAudio("ac3", "AC-3")],
    [0x87, notPlayableAudio("eac3", "E-AC-3")],
    [0x15, { kind: "data", codec: "metadata", playable: false, reason: "timed metadata is not sent to viewers" }],
    [0x86, { kind: "data", codec: "scte35", playable: false, reason: "SCTE-35 cues are not sent to viewers" }],
  ] satisfies Array<[number, Known]>,
);

/** What one PMT entry is, for playback and for the API. */
export function describeStream(stream: PmtStream): TrackInfo {
  const base = { pid: stream.pid, streamType: stream.streamType };
  if (stream.streamType === STREAM_TYPE_PRIVATE_PES) return { ...base, ...describePrivate(stream.descriptors) };
  const known = BY_STREAM_TYPE.get(stream.streamType);
  if (known) return { ...base, ...known };
  const hex = `0x${stream.streamType.toString(16).padStart(2, "0")}`;
  return { ...base, kind: "data", codec: "unknown", playable: false, reason: `stream_type ${hex} is not supported` };
}

/** stream_type 0x06 is told apart by its descriptors. */
function describePrivate(descriptors: Descriptor[]): Known {
  if (registrationFormat(descriptors) === OPUS_FORMAT_IDENTIFIER) {
    return { kind: "audio", codec: "opus", playable: true };
  }
  const has = (tag: number) => descriptors.some((d) => d.tag === tag);
  if (has(DVB_AC3_DESCRIPTOR_TAG)) return notPlayableAudio("ac3", "AC-3");
  if (has(DVB_ENHANCED_AC3_DESCRIPTOR_TAG)) return notPlayableAudio("eac3", "E-AC-3");
  if (has(DVB_TELETEXT_DESCRIPTOR_TAG)) {
    return { kind: "data", codec: "teletext", playable: false, reason: "teletext is not sent to viewers" };
  }
  if (has(DVB_SUBTITLING_DESCRIPTOR_TAG)) {
    return { kind: "data", codec: "dvb-subtitles", playable: false, reason: "subtitles are not sent to viewers" };
  }
  const registered = registrationFormat(descriptors);
  const what = registered
    ? `private data registered as "${registered}"`
    : "private data (stream_type 0x06) without an Opus registration descriptor";
  return { kind: "data", codec: "private", playable: false, reason: `${what} is not sent to viewers` };
}

/**
 * The tracks of a program, in PMT order. Viewers get one video and one audio
 * track: only the first playable track of each kind is playable; later ones
 * are listed with the reason.
 */
export function describeProgram(streams: PmtStream[]): TrackInfo[] {
  const chosen = new Map<TrackInfo["kind"], TrackInfo>();
  return streams.map((stream) => {
    const track = describeStream(stream);
    if (!track.playable) return track;
    const first = chosen.get(track.kind);
    if (!first) {
      chosen.set(track.kind, track);
      return track;
    }
    return {
      ...track,
      playable: false,
      reason: `only the first ${track.kind} track (PID ${first.pid}) is sent to viewers`,
    };
  });
}

import { describe, expect, test } from "bun:test";
import { describeProgram, describeStream } from "../../lib/mpegts/streamTypes.ts";
import { OPUS_REGISTRATION } from "../../bench/lib/mpegts/tsBuilders.ts";

const stream = (streamType: number, descriptors: number[][] = []) => ({
  streamType,
  pid: 0x100,
  descriptors: descriptors.map(([tag, ...data]) => ({ tag: tag!, data: Uint8Array.from(data) })),
});
const OPUS = [OPUS_REGISTRATION.filter((_, i) => i !== 1)]; // [tag, ...data] without the length byte

describe("describeStream (ISO/IEC 13818-1 Table 2-34)", () => {
  test.each([
    [0x1b, [], "video", "h264", true, undefined],
    [0x06, OPUS, "audio", "opus", true, undefined],
    [0x0f, [], "audio", "aac", false, /^AAC cannot be sent over WebRTC; encode Opus \(ffmpeg -c:a libopus\)$/],
    [0x11, [], "audio", "aac-latm", false, /AAC \(LATM\) cannot be sent over WebRTC; encode Opus/],
    [0x03, [], "audio", "mpeg-audio", false, /MPEG-1 audio .* encode Opus/],
    [0x04, [], "audio", "mpeg-audio", false, /MPEG-2 audio .* encode Opus/],
    [0x81, [], "audio", "ac3", false, /AC-3 .* encode Opus/],
    [0x87, [], "audio", "eac3", false, /E-AC-3 .* encode Opus/],
    [0x24, [], "video", "hevc", false, /HEVC .* -c:v libx264 -bf 0/],
    [0x02, [], "video", "mpeg2-video", false, /MPEG-2 video .* libx264/],
    [0x15, [], "data", "metadata", false, /metadata is not sent/],
    [0x86, [], "data", "scte35", false, /SCTE-35/],
    [0x06, [], "data", "private", false, /without an Opus registration descriptor/],
    [0x06, [[0x05, 0x4b, 0x4c, 0x56, 0x41]], "data", "private", false, /registered as "KLVA"/],
    [0x06, [[0x6a, 0]], "audio", "ac3", false, /AC-3 cannot be sent/], // DVB AC-3 descriptor
    [0x06, [[0x7a, 0]], "audio", "eac3", false, /E-AC-3/],
    [0x06, [[0x59]], "data", "dvb-subtitles", false, /subtitles/],
    [0xa0, [], "data", "unknown", false, /^stream_type 0xa0 is not supported$/],
  ] as Array<[number, number[][], string, string, boolean, RegExp | undefined]>)(
    "stream_type %d",
    (streamType, descriptors, kind, codec, playable, reason) => {
      const track = describeStream(stream(streamType, descriptors));
      expect(track).toMatchObject({ pid: 0x100, streamType, kind, codec, playable });
      if (reason) expect(track.reason).toMatch(reason);
      else expect(track.reason).toBeUndefined();
    },
  );
});

describe("describeProgram", () => {
  test("only the first playable track of each kind is playable; later ones say why", () => {
    const tracks = describeProgram([
      { ...stream(0x0f), pid: 0x101 },
      { ...stream(0x1b), pid: 0x100 },
      { ...stream(0x06, OPUS), pid: 0x102 },
      { ...stream(0x1b), pid: 0x103 },
      { ...stream(0x06, OPUS), pid: 0x104 },
    ]);
    expect(tracks.map((t) => [t.pid, t.codec, t.playable])).toEqual([
      [0x101, "aac", false],
      [0x100, "h264", true],
      [0x102, "opus", true],
      [0x103, "h264", false],
      [0x104, "opus", false],
    ]);
    expect(tracks[3]!.reason).toBe("only the first video track (PID 256) is sent to viewers");
    expect(tracks[4]!.reason).toBe("only the first audio track (PID 258) is sent to viewers");
  });
});

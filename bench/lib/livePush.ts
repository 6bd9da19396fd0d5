import { h264OpusArgs } from "./sources.ts";

/**
 * ffmpeg encoding a live 3 Mbit/s 1280x720 test pattern (30 fps, GOP 2 s, no
 * B-frames) and a tone (Opus), paced by -re, pushed to `url` as MPEG-TS over
 * HTTP with the README quick start's muxer options; runs until it is stopped
 * (SIGINT ends the body cleanly). Its stderr is a pipe for the caller to read.
 */
export function livePush(url: string) {
  return Bun.spawn([
    "ffmpeg",
    "-hide_banner",
    "-loglevel",
    "error",
    "-nostdin",
    "-re",
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=1280x720:rate=30",
    "-re",
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=440:sample_rate=48000",
    ...h264OpusArgs(60, 3000),
    "-pes_payload_size",
    "0",
    "-omit_video_pes_length",
    "0",
    "-f",
    "mpegts",
    url,
  ], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
}

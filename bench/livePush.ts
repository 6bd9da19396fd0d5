/**
 * ffmpeg encoding a live 3 Mbit/s 1280x720 test pattern (30 fps, GOP 2 s, no
 * B-frames) and a tone (Opus), paced by -re, pushed to `url` as MPEG-TS over
 * HTTP with the README quick start's muxer options; runs until it is stopped
 * (SIGINT ends the body cleanly). Its stderr is a pipe for the caller to read.
 */
export function livePush(url: string) {
  return Bun.spawn([
    "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
    "-re", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
    "-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
    "-c:v", "libx264", "-profile:v", "baseline", "-bf", "0", "-g", "60", "-keyint_min", "60", "-sc_threshold", "0",
    "-pix_fmt", "yuv420p", "-preset", "veryfast", "-tune", "zerolatency",
    "-b:v", "3000k", "-maxrate", "3000k", "-bufsize", "3000k",
    "-c:a", "libopus", "-b:a", "64k", "-ac", "2", "-ar", "48000",
    "-pes_payload_size", "0", "-omit_video_pes_length", "0",
    "-f", "mpegts", url,
  ], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
}

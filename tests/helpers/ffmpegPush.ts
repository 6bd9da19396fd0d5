import { fileURLToPath } from "node:url";
import { loopedPushArgv } from "../../bench/lib/sources.ts";
import { trackChild } from "./children.ts";

/** ffmpeg pushing a fixture, looped at real time, to Wisp's MPEG-TS ingest, as a user would. */
export function ffmpegPush(fixture: string, url: string): { stop(): Promise<void>; exited: Promise<number> } {
  const input = fileURLToPath(new URL(`../fixtures/${fixture}`, import.meta.url));
  const proc = trackChild(Bun.spawn(
    loopedPushArgv(input, url),
    { stdout: "ignore", stderr: "pipe", stdin: "ignore" },
  ));
  return {
    exited: proc.exited,
    async stop() {
      proc.kill("SIGINT");
      await proc.exited;
    },
  };
}

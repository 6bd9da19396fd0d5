/** Child processes (ffmpeg in a command pipeline) as the rest of Wisp sees them: Bun.spawn or Deno.Command behind it. */
import { runtime } from "./runtime.ts";

/** "pipe": a stream on our side; "ignore": /dev/null; "inherit": this process's own. */
export type StdioMode = "pipe" | "ignore" | "inherit";

export interface SpawnOptions {
  /** Default "ignore". */
  stdin?: "pipe" | "ignore";
  /** Default "pipe". */
  stdout?: StdioMode;
  /** Default "inherit". */
  stderr?: StdioMode;
  /** Added to (or replacing entries of) this process's environment. */
  env?: Record<string, string>;
  cwd?: string;
}

/** How a child ended: its exit code, or the signal that ended it (then code is null). */
export interface ChildExit {
  code: number | null;
  signal: string | null;
}

export interface ChildProcess {
  readonly pid: number;
  /** With stdin "pipe": closing it is the child's end of input. */
  readonly stdin: WritableStream<Uint8Array> | undefined;
  /** With stdout "pipe". */
  readonly stdout: ReadableStream<Uint8Array> | undefined;
  /** With stderr "pipe". */
  readonly stderr: ReadableStream<Uint8Array> | undefined;
  /** Settles once the child has ended (never rejects). */
  readonly exited: Promise<ChildExit>;
  /** Sends `signal` (default SIGTERM); nothing once the child has ended. */
  kill(signal?: "SIGTERM" | "SIGKILL" | "SIGINT"): void;
}

/** Children started through spawn() that have not exited yet (a leak check and the API read it). */
let liveChildren = 0;

/** Starts `argv[0]` (looked up in PATH) with the rest of `argv` as its arguments; throws if it cannot start. */
export function spawn(argv: readonly string[], options: SpawnOptions = {}): ChildProcess {
  if (argv.length === 0) throw new Error("spawn: empty argv");
  const child = runtime.spawn(argv, options);
  liveChildren++;
  void child.exited.then(() => liveChildren--);
  return child;
}

/** How many children started through spawn() are still running. */
export function liveChildCount(): number {
  return liveChildren;
}

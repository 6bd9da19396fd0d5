import type { FileSink } from "bun";
import type { ChildExit, ChildProcess, SpawnOptions } from "../childProcess.ts";

/** Bun.spawn, its stdin FileSink offered as a WritableStream (each write waits for its flush: backpressure). */
export function spawn(argv: readonly string[], options: SpawnOptions): ChildProcess {
  const stdio = {
    stdin: options.stdin ?? "ignore",
    stdout: options.stdout ?? "pipe",
    stderr: options.stderr ?? "inherit",
  } as const;
  const proc = Bun.spawn([...argv], {
    ...stdio,
    ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  const exited = proc.exited.then((): ChildExit => {
    const signal = proc.signalCode === null ? null : String(proc.signalCode);
    return { code: signal ? null : proc.exitCode, signal };
  });
  return {
    pid: proc.pid,
    stdin: stdio.stdin === "pipe" ? sinkStream(proc.stdin as FileSink) : undefined,
    stdout: stdio.stdout === "pipe" ? (proc.stdout as ReadableStream<Uint8Array>) : undefined,
    stderr: stdio.stderr === "pipe" ? (proc.stderr as ReadableStream<Uint8Array>) : undefined,
    exited,
    kill: (signal = "SIGTERM") => proc.kill(signal),
  };
}

function sinkStream(sink: FileSink): WritableStream<Uint8Array> {
  return new WritableStream<Uint8Array>({
    async write(chunk) {
      // A number, or a promise while the pipe is full, which rejects (EPIPE) if the child goes away: awaited.
      await sink.write(chunk);
      await sink.flush();
    },
    async close() {
      await sink.end();
    },
    async abort() {
      await sink.end();
    },
  });
}

// The pipelines the pipeline benchmarks compare (bench/pipelineDelay.ts, bench/swapGap.ts), as the
// PIPELINES value of the server under test: passthrough (always defined), an ffmpeg that only
// remuxes (what a command pipeline costs when its process does no work), and the loopback trickle
// copy worker (what the runner kind's trickle round trip costs, bench/lib/trickleCopyWorker.ts).

/**
 * A command pipeline's ffmpeg (PIPELINES `{"command": …}`) as a user would write one: MPEG-TS on
 * stdin, `codecArgs` applied, MPEG-TS on stdout, buffering as little as it can.
 */
export function ffmpegPipelineCommand(codecArgs: readonly string[], mark?: string): string[] {
  return [
    ...["ffmpeg", "-hide_banner", "-loglevel", "error"],
    // Probe only what it needs to find both tracks, and hand on packets as they come.
    ...["-fflags", "nobuffer", "-probesize", "65536", "-analyzeduration", "500000"],
    ...["-i", "pipe:0", ...codecArgs],
    // A unique word in its argv lets a benchmark or a test find and kill exactly this process.
    ...(mark ? ["-metadata", `service_name=${mark}`] : []),
    ...["-flush_packets", "1", "-f", "mpegts", "pipe:1"],
  ];
}

/** ffmpeg reading TS on stdin and writing it unchanged (`-c copy`) on stdout. */
export function copyCommand(mark?: string): string[] {
  return ffmpegPipelineCommand(["-c", "copy"], mark);
}

export interface BenchPipelineOptions {
  /** The copy worker's base URL; without it there is no `worker` pipeline. */
  workerUrl?: string;
  /** See copyCommand(). */
  mark?: string;
}

/** PIPELINES JSON: `copy` (the ffmpeg remux) and, given a worker, `worker` (the runner kind). */
export function benchPipelines(options: BenchPipelineOptions): string {
  return JSON.stringify({
    copy: { command: copyCommand(options.mark) },
    ...(options.workerUrl ? { worker: { runner: options.workerUrl } } : {}),
  });
}

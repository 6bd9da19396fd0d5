// What each pipeline kind adds to a viewer's live delay, side by side: passthrough, a command
// pipeline whose ffmpeg only remuxes (`-c copy`), and a runner pipeline whose worker only copies its
// input segments to its output over trickle (bench/lib/trickleCopyWorker.ts). The source's picture
// carries the wall clock (bench/lib/liveDelay/clockSource.ts) and a headless Chromium viewer reads it
// back from every displayed frame (bench/clients/liveDelayPage.ts): display time - time in the
// picture is the live delay, measured over WINDOW_MS after SETTLE_MS of playing. Each repetition is
// a fresh push and a fresh viewer, and the kinds take turns, so a busy moment of the shared machine
// lands on all of them alike.
// Usage: bun run bench pipelineDelay [repetitions = 3] [--gop=seconds (1)] [--no-audio]
import { startInProcessServer } from "./lib/benchServer.ts";
import type { InProcessServer } from "./lib/benchServer.ts";
import { printFigureLine } from "./lib/figureLine.ts";
import { type ClockSourceOptions, startClockSource } from "./lib/liveDelay/clockSource.ts";
import { benchPipelines } from "./lib/pipelines/benchPipelines.ts";
import { type ClockViewerPage, openClockViewerPage } from "./lib/pipelines/clockViewerPage.ts";
import { percentile, wallClockMs } from "./lib/sources.ts";
import { type CopyWorker, startCopyWorker } from "./lib/trickleCopyWorker.ts";

const STREAM = "delay";
const SETTLE_MS = 5000;
const WINDOW_MS = 3000;
const DEFAULT_REPETITIONS = 3;
const OUTPUT_TIMEOUT_MS = 20_000;
const STREAM_GONE_TIMEOUT_MS = 10_000;

/** The pipelines compared, by their PIPELINES names (bench/lib/pipelines/benchPipelines.ts). */
const KINDS = [
  { name: "passthrough", kind: "passthrough", about: "passthrough" },
  { name: "copy", kind: "command", about: "command (ffmpeg -c copy)" },
  { name: "worker", kind: "runner", about: "runner (trickle copy worker)" },
] as const;

interface KindDelay {
  pipeline: string;
  repetitions: number;
  /** Frames read in the windows, and their live delay (ms). */
  frames: number;
  mean: number;
  p50: number;
  p95: number;
  /** Mean of each repetition's window, to show how much a fresh push moves the figure. */
  runMeans: number[];
}

/** The server with every pipeline; without the worker if this server cannot run a runner pipeline (yet). */
async function startServer(worker: CopyWorker): Promise<{ server: InProcessServer; runnerProblem?: string }> {
  // No reconnect grace: each repetition's push ends its stream, so the next one starts clean.
  const env = { RECONNECT_GRACE_MS: "0", WHEP_MAX_VIEWERS: "0" };
  try {
    return { server: await startInProcessServer({ ...env, PIPELINES: benchPipelines({ workerUrl: worker.url }) }) };
  } catch (error) {
    const runnerProblem = (error as Error).message;
    return { server: await startInProcessServer({ ...env, PIPELINES: benchPipelines({}) }), runnerProblem };
  }
}

/** One push through `pipeline`, one viewer: its live delays (ms) over the window. */
async function measureOnce(
  server: InProcessServer,
  page: ClockViewerPage,
  { name: pipeline, kind }: (typeof KINDS)[number],
  source: ClockSourceOptions,
): Promise<number[]> {
  const push = startClockSource(`${server.url}/ingest/${STREAM}?pipeline=${pipeline}`, source);
  try {
    await server.registry.waitForOutput(STREAM, { timeoutMs: OUTPUT_TIMEOUT_MS });
    const started = await page.open(pipeline, STREAM);
    const from = started + SETTLE_MS;
    await Bun.sleep(from + WINDOW_MS + 200 - wallClockMs());
    const { samples } = await page.report(pipeline);
    // A window played through a restarted or fallen-back pipeline would not be this kind's figure.
    const running = server.registry.stream(STREAM)?.pipeline?.describe();
    if (running?.attemptKind !== kind || running.attempt !== 1) {
      throw new Error(
        `pipeline ${pipeline}: attempt ${running?.attempt} of kind ${running?.attemptKind} ran, not the first ${kind}`,
      );
    }
    return samples.filter((s) => s.shown >= from && s.shown < from + WINDOW_MS).map((s) => s.shown - s.clock);
  } finally {
    await page.closeViewer(pipeline);
    await push.stop();
    await streamGone(server);
  }
}

async function streamGone(server: InProcessServer): Promise<void> {
  const deadline = Date.now() + STREAM_GONE_TIMEOUT_MS;
  while (server.registry.stream(STREAM) && Date.now() < deadline) await Bun.sleep(50);
}

function summarize(pipeline: string, runs: number[][]): KindDelay {
  const all = runs.flat();
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  return {
    pipeline,
    repetitions: runs.length,
    frames: all.length,
    mean: mean(all),
    p50: percentile(all, 50),
    p95: percentile(all, 95),
    runMeans: runs.map(mean),
  };
}

export async function main(args: string[]): Promise<boolean> {
  const repetitions = Number(args.find((a) => !a.startsWith("--")) ?? DEFAULT_REPETITIONS);
  const gopSeconds = Number(args.find((a) => a.startsWith("--gop="))?.slice(6) ?? 1);
  // Without audio, what ffmpeg holds video back for (interleaving it with audio) shows up.
  const audio = !args.includes("--no-audio");
  const worker = startCopyWorker();
  const { server, runnerProblem } = await startServer(worker);
  const kinds = KINDS.filter((k) => k.name !== "worker" || !runnerProblem);
  if (runnerProblem) console.log(`pipelineDelay: runner pipeline not measured: ${runnerProblem}`);
  const page = await openClockViewerPage(server.url);
  const runs = new Map<string, number[][]>(kinds.map((k) => [k.name, []]));
  try {
    for (let i = 0; i < repetitions; i++) {
      for (const kind of kinds) runs.get(kind.name)!.push(await measureOnce(server, page, kind, { gopSeconds, audio }));
    }
  } finally {
    await page.close();
    await server.close();
    await worker.close();
  }
  const results = kinds.map((k) => summarize(k.name, runs.get(k.name)!));
  const base = results[0]!;
  for (const [i, r] of results.entries()) {
    const added = i === 0
      ? ""
      : `; added vs passthrough: mean ${signed(r.mean - base.mean)}, p50 ${signed(r.p50 - base.p50)}`;
    console.log(
      `pipelineDelay ${kinds[i]!.about}: live delay mean ${r.mean.toFixed(1)} ms, p50 ${r.p50.toFixed(1)}, p95 ${
        r.p95.toFixed(1)
      } (${r.frames} frames, ${r.repetitions} runs, run means ${
        r.runMeans.map((m) => m.toFixed(0)).join("/")
      } ms)${added}`,
    );
  }
  printFigureLine("pipelineDelay", args, {
    settleMs: SETTLE_MS,
    windowMs: WINDOW_MS,
    gopSeconds,
    audio,
    kinds: results.map((r) => ({ ...r, addedMeanMs: r.mean - base.mean, addedP50Ms: r.p50 - base.p50 })),
    ...(runnerProblem ? { runnerNotMeasured: runnerProblem } : {}),
  });
  return results.every((r) => r.frames > 0);
}

function signed(ms: number): string {
  return `${ms >= 0 ? "+" : ""}${ms.toFixed(1)} ms`;
}

if (import.meta.main && !(await main(process.argv.slice(2)))) process.exitCode = 1;

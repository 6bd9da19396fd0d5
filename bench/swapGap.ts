// How long a viewer's picture stops when the stream's output changes under it, measured in headless
// Chromium from the frames the <video> presents (requestVideoFrameCallback): the last frame before
// the swap to the first after it. Three swaps (bench/lib/pipelines/swapTriggers.ts): (a) a command
// pipeline's ffmpeg killed (SIGKILL) and restarted by Wisp, (b) a runner worker that stops serving
// its job, so Wisp starts a new attempt, (c) the publisher's push stopped and started again 1.5 s
// later, within RECONNECT_GRACE_MS. The viewer must live through each as the same WHEP session:
// the server counts one viewer throughout, with the same id, and the page sends no second POST.
// It also reads the viewer's live delay (the clock in the picture) before and 5 s after: a swap
// should not leave the viewer behind. Exits 1 when the one-session check fails.
// Usage: bun run bench swapGap [repetitions = 3] [--gop=seconds (1)] [--trace]
import { type InProcessServer, startInProcessServer } from "./lib/benchServer.ts";
import { printFigureLine } from "./lib/figureLine.ts";
import { type ClockSource, startClockSource } from "./lib/liveDelay/clockSource.ts";
import { benchPipelines } from "./lib/pipelines/benchPipelines.ts";
import { type ClockViewerPage, openClockViewerPage } from "./lib/pipelines/clockViewerPage.ts";
import { type FrameGap, longestGap } from "./lib/pipelines/frameGap.ts";
import { killCommand, reconnectPublisher, stopWorkerJob } from "./lib/pipelines/swapTriggers.ts";
import { percentile, wallClockMs } from "./lib/sources.ts";
import { type CopyWorker, startCopyWorker } from "./lib/trickleCopyWorker.ts";

const DEFAULT_REPETITIONS = 3;
const RECONNECT_PAUSE_MS = 1500;
const SETTLE_MS = 3000; // a viewer plays steadily this long before the swap
const LOOK_BEFORE_MS = 500; // the gap is looked for from this long before the trigger...
const GAP_AFTER_OUTPUT_MS = 2000; // ...to this long after the new output was ready
const DELAY_AFTER_MS = 5000; // the live delay after the swap: over the second from this long after the new output
const NEW_OUTPUT_TIMEOUT_MS = 30_000;

interface Push {
  start(): void;
  stop(): Promise<void>;
}

interface Scenario {
  name: string;
  about: string;
  /** Which PIPELINES entry the push asks for (bench/lib/pipelines/benchPipelines.ts). */
  pipeline: string;
  trigger(push: Push): Promise<void>;
}

interface Swap extends FrameGap {
  /** Trigger -> the new output ready on the server (ms): the server's share of the gap. */
  newOutputMs: number;
  /** Viewers the server counted while it happened (should be 1 and 1), and whether it was the same one. */
  viewerCounts: { min: number; max: number };
  sameViewer: boolean;
  /** The page's WHEP offers for this viewer: 1 when it never started a new session. */
  whepPosts: number;
  /** The viewer's live delay (ms, median) over the second before the trigger, and DELAY_AFTER_MS after the new output. */
  delayBeforeMs: number;
  delayAfterMs: number;
  /** For --trace: every wait over 100 ms between frames, as [from, to] ms after the trigger, and the pipeline after. */
  trace: { waits: Array<[number, number]>; pipeline: unknown };
}

function scenarios(worker: CopyWorker, mark: string): Scenario[] {
  return [
    { name: "restart", about: "command restart (ffmpeg SIGKILL)", pipeline: "copy", trigger: () => killCommand(mark) },
    {
      name: "workerSwap",
      about: "worker swap (job stopped)",
      pipeline: "worker",
      trigger: () => stopWorkerJob(worker),
    },
    {
      name: "reconnect",
      about: `publisher reconnect (${RECONNECT_PAUSE_MS / 1000} s away)`,
      pipeline: "passthrough",
      trigger: (push) => reconnectPublisher(push, RECONNECT_PAUSE_MS),
    },
  ];
}

/** The clock source pushed to `stream` through `pipeline`, stoppable and startable again. */
function clockPush(server: InProcessServer, stream: string, pipeline: string, gopSeconds: number): Push {
  let source: ClockSource | undefined;
  return {
    start: () =>
      void (source = startClockSource(`${server.url}/ingest/${stream}?pipeline=${pipeline}`, { gopSeconds })),
    stop: async () => await source?.stop(),
  };
}

/** Viewer `id`'s live delay (ms, median of shown - clock) over frames shown in [from, to). */
async function delayBetween(page: ClockViewerPage, id: string, from: number, to: number): Promise<number> {
  const { samples } = await page.report(id);
  return percentile(samples.filter((f) => f.shown >= from && f.shown < to).map((f) => f.shown - f.clock), 50);
}

/**
 * One swap under a fresh viewer (an earlier swap's after-effects on the browser must not blur this
 * one's gap): it joins, plays SETTLE_MS, the swap happens, and it plays on until DELAY_AFTER_MS.
 */
async function measureSwap(
  server: InProcessServer,
  page: ClockViewerPage,
  scenario: Scenario,
  push: Push,
  id: string,
): Promise<Swap> {
  const stream = server.registry.stream(scenario.name)!;
  const viewerIds = () => server.viewers.list(scenario.name).map((v) => v.id).join(",");
  const postsBefore = (await page.presented(id, wallClockMs())).whepPosts;
  await page.open(id, scenario.name);
  await Bun.sleep(SETTLE_MS);
  const idsBefore = viewerIds();
  const counts = { min: Infinity, max: -Infinity };
  const countViewers = setInterval(() => {
    const n = server.registry.viewerCount(scenario.name);
    counts.min = Math.min(counts.min, n);
    counts.max = Math.max(counts.max, n);
  }, 20);
  try {
    const previous = stream.output;
    const triggered = wallClockMs();
    await scenario.trigger(push);
    const next = await Promise.race([stream.nextOutput(previous), Bun.sleep(NEW_OUTPUT_TIMEOUT_MS)]);
    if (!next) throw new Error(`${scenario.name}: no new output within ${NEW_OUTPUT_TIMEOUT_MS} ms`);
    const ready = wallClockMs();
    await Bun.sleep(GAP_AFTER_OUTPUT_MS);
    const { frames, whepPosts } = await page.presented(id, triggered - LOOK_BEFORE_MS);
    const gap = longestGap(frames);
    if (!gap || frames.at(-1)! < ready) {
      throw new Error(
        `${scenario.name}: the picture did not come back within ${GAP_AFTER_OUTPUT_MS} ms of the new output`,
      );
    }
    await Bun.sleep(ready + DELAY_AFTER_MS + 1000 - wallClockMs());
    const waits: Array<[number, number]> = [];
    for (let i = 1; i < frames.length; i++) {
      if (frames[i]! - frames[i - 1]! > 100) waits.push([frames[i - 1]! - triggered, frames[i]! - triggered]);
    }
    return {
      ...gap,
      newOutputMs: ready - triggered,
      viewerCounts: counts,
      sameViewer: viewerIds() === idsBefore,
      whepPosts: whepPosts - postsBefore,
      delayBeforeMs: await delayBetween(page, id, triggered - 1000, triggered),
      delayAfterMs: await delayBetween(page, id, ready + DELAY_AFTER_MS, ready + DELAY_AFTER_MS + 1000),
      trace: { waits, pipeline: stream.pipeline?.describe() },
    };
  } finally {
    clearInterval(countViewers);
    await page.closeViewer(id);
    while (server.registry.viewerCount(scenario.name) > 0) await Bun.sleep(20);
  }
}

/** A push for the scenario, then `repetitions` swaps, each under a fresh viewer. */
async function runScenario(
  server: InProcessServer,
  page: ClockViewerPage,
  scenario: Scenario,
  repetitions: number,
  gopSeconds: number,
): Promise<Swap[]> {
  const push = clockPush(server, scenario.name, scenario.pipeline, gopSeconds);
  push.start();
  try {
    await server.registry.waitForOutput(scenario.name, { timeoutMs: NEW_OUTPUT_TIMEOUT_MS });
    const swaps: Swap[] = [];
    for (let i = 0; i < repetitions; i++) {
      swaps.push(await measureSwap(server, page, scenario, push, `${scenario.name}-${i}`));
    }
    return swaps;
  } finally {
    await push.stop();
    server.registry.stream(scenario.name)?.end("scenario over"); // not the reconnect grace's 10 s
  }
}

/** The scenario's figure: its gaps, what the server took, the viewer's delay around them, and the one-session check. */
function summarize(scenario: Scenario, swaps: Swap[]) {
  const oneSession = swaps.every((s) =>
    s.whepPosts === 1 && s.sameViewer && s.viewerCounts.min === 1 && s.viewerCounts.max === 1
  );
  return {
    scenario: scenario.name,
    pipeline: scenario.pipeline,
    gapsMs: swaps.map((s) => s.gapMs),
    newOutputMs: swaps.map((s) => s.newOutputMs),
    delayBeforeMs: swaps.map((s) => s.delayBeforeMs),
    delayAfterMs: swaps.map((s) => s.delayAfterMs),
    whepPosts: swaps.map((s) => s.whepPosts),
    viewerCounts: swaps.map((s) => s.viewerCounts),
    oneSession,
  };
}

function formatScenario(about: string, r: ReturnType<typeof summarize>): string {
  const ms = (values: number[]) => values.map((v) => v.toFixed(0)).join(", ");
  const gaps = r.gapsMs;
  const session = r.oneSession
    ? "one WHEP session throughout"
    : `NOT one session: POSTs ${r.whepPosts.join(", ")}, viewer counts ${JSON.stringify(r.viewerCounts)}`;
  return `swapGap ${about}: picture gap min ${Math.min(...gaps).toFixed(0)} ms, median ${
    percentile(gaps, 50).toFixed(0)
  }, max ${Math.max(...gaps).toFixed(0)} (${ms(gaps)}); new output ready after ${
    ms(r.newOutputMs)
  } ms; live delay before ${ms(r.delayBeforeMs)} ms, ${DELAY_AFTER_MS / 1000} s after ${
    ms(r.delayAfterMs)
  } ms; ${session}`;
}

export async function main(args: string[]): Promise<boolean> {
  const repetitions = Number(args.find((a) => !a.startsWith("--")) ?? DEFAULT_REPETITIONS);
  const gopSeconds = Number(args.find((a) => a.startsWith("--gop="))?.slice(6) ?? 1);
  const trace = args.includes("--trace");
  const mark = `wisp-swapgap-${process.pid}`;
  const worker = startCopyWorker();
  const server = await startInProcessServer({
    PIPELINES: benchPipelines({ workerUrl: worker.url, mark }),
    RECONNECT_GRACE_MS: "10000",
    PIPELINE_MAX_SWAPS: "1000", // every repetition is a swap: never fall back to passthrough
  });
  const results = [];
  const page = await openClockViewerPage(server.url);
  try {
    for (const scenario of scenarios(worker, mark)) {
      const swaps = await runScenario(server, page, scenario, repetitions, gopSeconds);
      const result = summarize(scenario, swaps);
      results.push(result);
      console.log(formatScenario(scenario.about, result));
      if (trace) { for (const swap of swaps) console.log(`  ${JSON.stringify(swap.trace)}`); }
    }
  } finally {
    await page.close();
    await server.close();
    await worker.close();
  }
  printFigureLine("swapGap", args, { gopSeconds, reconnectPauseMs: RECONNECT_PAUSE_MS, scenarios: results });
  return results.every((r) => r.oneSession);
}

if (import.meta.main && !(await main(process.argv.slice(2)))) process.exitCode = 1;

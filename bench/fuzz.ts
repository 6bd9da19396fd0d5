// The MPEG-TS demuxer fuzzer (bench/lib/mpegts/demuxFuzz.ts) over many inputs: progress every
// 50k, failures as they come (each with its replay command), then the JSON line
// (bench/lib/figureLine.ts) with {"inputs":N,"seed":S,"failures":F,"seconds":T,"counts":{...}} as its
// result; exits 1 on any failure or a hang.
// The inputs run in a worker; this thread is the watchdog: an input that does not end
// within HANG_SECONDS is reported by its index (the worker cannot report a loop it is stuck in).
// Usage: bun run bench fuzz [N = 1000000] [--seed=S (default: random, printed)] [--from=I]
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { printFigureLine } from "./lib/figureLine.ts";
import { describeFailure, type FuzzCounts, fuzzDemuxer } from "./lib/mpegts/demuxFuzz.ts";

const DEFAULT_INPUTS = 1_000_000;
const PROGRESS_EVERY = 50_000;
/** No input (at most ~20 KB) takes a second; a minute on one input is a hang even on a loaded machine. */
const HANG_SECONDS = 60;
/** Failures printed in full; the rest are only counted. */
const MAX_PRINTED_FAILURES = 50;

interface Job {
  inputs: number;
  seed: number;
  from: number;
  /** [index of the input being run] */
  current: Int32Array;
}

type FromWorker =
  | { type: "progress"; done: number; failures: number }
  | { type: "failure"; text: string }
  | { type: "done"; counts: FuzzCounts };

function parseArgs(args: string[]): Omit<Job, "current"> {
  const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const [count] = args.filter((a) => !a.startsWith("--"));
  const job = {
    inputs: count === undefined ? DEFAULT_INPUTS : Number(count),
    seed: flag("seed") === undefined ? Math.floor(Math.random() * 2 ** 32) : Number(flag("seed")),
    from: Number(flag("from") ?? 0),
  };
  for (const [name, value] of Object.entries(job)) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new Error(`bench/fuzz.ts: ${name} must be a whole number >= 0, got ${value}`);
    }
  }
  return job;
}

async function runWorker(job: Job): Promise<void> {
  const post = (message: FromWorker) => parentPort!.postMessage(message);
  let failures = 0;
  const counts = await fuzzDemuxer({
    ...job,
    first: job.from,
    onInput: (index) => {
      Atomics.store(job.current, 0, index);
      const done = index - job.from;
      if (done > 0 && done % PROGRESS_EVERY === 0) post({ type: "progress", done, failures });
    },
    onFailure: (failure) => {
      if (failures++ < MAX_PRINTED_FAILURES) post({ type: "failure", text: describeFailure(failure) });
    },
  });
  post({ type: "done", counts });
}

/** Runs the inputs in a worker (this file again); exits the process when they are done, or on a hang or a failure of the fuzzer itself. */
export function main(args: string[]): void {
  const job: Job = { ...parseArgs(args), current: new Int32Array(new SharedArrayBuffer(4)) };
  console.log(`fuzzing the demuxer: ${job.inputs} inputs from #${job.from}, seed ${job.seed}`);
  const started = performance.now();
  const seconds = () => Number(((performance.now() - started) / 1000).toFixed(1));
  const worker = new Worker(new URL(import.meta.url), { workerData: job });
  const watchdog = startWatchdog(job, () => {
    const input = Atomics.load(job.current, 0);
    const message = `no end after ${HANG_SECONDS} s`;
    console.error(describeFailure({ seed: job.seed, input, recipe: "still running", message }));
    printFigureLine("fuzz", args, { inputs: input - job.from, seed: job.seed, failures: 1, seconds: seconds() });
    process.exit(1);
  });
  worker.on("message", (message: FromWorker) => {
    if (message.type === "progress") {
      return console.log(`${message.done} inputs, ${message.failures} failures, ${seconds()} s`);
    }
    if (message.type === "failure") return console.error(message.text);
    clearInterval(watchdog);
    const { inputs, failures } = message.counts;
    printFigureLine("fuzz", args, { inputs, seed: job.seed, failures, seconds: seconds(), counts: message.counts });
    process.exit(failures === 0 ? 0 : 1);
  });
  worker.on("error", (error: Error) => {
    console.error(`bench/fuzz.ts: the fuzzer itself failed: ${error.stack ?? error}`);
    process.exit(1);
  });
}

/** Calls `onHang` when the input index has not moved for HANG_SECONDS. */
function startWatchdog(job: Job, onHang: () => void): ReturnType<typeof setInterval> {
  let last = -1;
  let still = 0;
  return setInterval(() => {
    const now = Atomics.load(job.current, 0);
    still = now === last ? still + 1 : 0;
    last = now;
    if (still >= HANG_SECONDS) onHang();
  }, 1000);
}

if (!isMainThread) await runWorker(workerData as Job);
else if (import.meta.main) main(process.argv.slice(2));

// `bun run bench`: every figure of the README's Benchmarks table in one run on this machine (about
// 15 minutes). `bun run bench NAME [args]`: one figure, as `bun bench/NAME.ts [args]` would run it.
// `bun run bench --help` lists the names. Each run of a figure ends with its JSON line
// (bench/lib/figureLine.ts): the figure, its arguments, the commit and the machine.
import { describeMachine } from "./lib/figureLine.ts";

/** An entry point: runs the figure with its command-line arguments; false when a check it makes failed. */
interface Entry {
  main(args: string[]): Promise<boolean | void> | void;
}

const FIGURES: Record<string, { about: string; load: () => Promise<Entry> }> = {
  ttff: {
    about: "WHEP POST -> first decoded frame in Chromium, joins at random points of the GOP",
    load: () => import("./ttff.ts"),
  },
  liveDelay: {
    about: "live delay 5-6 s after a fast-start join minus that of a keyframe join (two Chromiums)",
    load: () => import("./liveDelay.ts"),
  },
  whipLatency: {
    about: "WHIP publish (Chromium) -> WHEP viewer (Chromium): first frame and end-to-end delay",
    load: () => import("./whipLatency.ts"),
  },
  avArrival: {
    about: "audio vs video lateness of a live ffmpeg push (arrival - PTS)",
    load: () => import("./avArrival.ts"),
  },
  sendPath: {
    about: "the send path alone: SRTP into the batch + batched send to N UDP sinks, per packet",
    load: () => import("./sendPath.ts"),
  },
  fanout: {
    about: "fan-out of a 3 Mbit/s stream to N viewers: server CPU per packet per viewer, delay, delivery",
    load: () => import("./fanout.ts"),
  },
  viewerMemory: {
    about: "memory per viewer: N viewers, then N more; what each further viewer adds",
    load: () => import("./viewerMemory.ts"),
  },
  soak: {
    about: "the server for MINUTES (default 60) under 50 viewers, the push replaced every 5 min; Ctrl-C: summary",
    load: () => import("./soak.ts"),
  },
  pipelineDelay: {
    about: "live delay through each pipeline kind (passthrough, ffmpeg -c copy, trickle copy worker), Chromium",
    load: () => import("./pipelineDelay.ts"),
  },
  swapGap: {
    about: "gap in a Chromium viewer's picture at a command restart, a worker swap, a publisher reconnect",
    load: () => import("./swapGap.ts"),
  },
  fuzz: {
    about: "the MPEG-TS demuxer fuzzer over N inputs (default 10^6); exits 1 on a failure",
    load: () => import("./fuzz.ts"),
  },
};

/**
 * The full run: the README table's commands, in this order. The baseline fan-out runs first, in the
 * same run: the ratio is what a noisy shared machine cannot blur.
 */
const FULL_RUN: Array<[name: string, args: string[]]> = [
  ["ttff", ["20", "2", "4"]],
  // Fast start must leave no lasting delay. The control (both at keyframes) and the video-only run
  // show how much of the spread is not fast start's doing.
  ["liveDelay", ["5", "2", "4"]],
  ["liveDelay", ["5", "2", "--control"]],
  ["liveDelay", ["5", "2", "--no-audio"]],
  // What ffmpeg's default PES packing of audio costs, against one PES per Opus packet.
  ["avArrival", []],
  ["avArrival", ["-pes_payload_size", "0"]],
  ["whipLatency", ["60"]],
  // The floor of the per-viewer work (SRTP + batched send only), and what each part of it gains.
  ["sendPath", ["100"]],
  ["fanout", ["--baseline", "1", "50", "100", "200"]],
  ["fanout", ["1", "50", "100", "200"]],
  // The delay the server itself adds, once the source says where each picture ends (PES lengths).
  ["fanout", ["--bounded-pes", "1", "200"]],
  // Memory per further viewer, with werift kept (the baseline) and released after the handshake.
  ["viewerMemory", ["50", "--handover=off"]],
  ["viewerMemory", ["50"]],
  // What a pipeline adds to the live delay, and how long a viewer's picture stops when it swaps.
  ["pipelineDelay", []],
  ["swapGap", []],
];

function usage(): string {
  const width = Math.max(...Object.keys(FIGURES).map((name) => name.length));
  const names = Object.entries(FIGURES).map(([name, { about }]) => `  ${name.padEnd(width)}  ${about}`);
  const head = "usage: bun run bench [NAME [args]]   (no NAME: every figure but soak and fuzz, ~15 min)";
  return [head, ...names].join("\n");
}

async function runOne(name: string, args: string[]): Promise<boolean> {
  const entry = await FIGURES[name]!.load();
  return (await entry.main(args)) !== false;
}

const [name, ...args] = process.argv.slice(2);
if (name === undefined) {
  console.log(`machine: ${describeMachine()}`);
  for (const [figure, figureArgs] of FULL_RUN) {
    console.log(`\n$ bun run bench ${[figure, ...figureArgs].join(" ")}`);
    await runOne(figure, figureArgs); // a failed check (liveDelay over 30 ms) is in its lines; the run goes on
  }
} else if (name === "--help" || name === "-h") {
  console.log(usage());
} else if (!Object.hasOwn(FIGURES, name)) {
  console.error(`bench: no figure "${name}"\n${usage()}`);
  process.exit(2);
} else if (!(await runOne(name, args))) {
  process.exitCode = 1;
}

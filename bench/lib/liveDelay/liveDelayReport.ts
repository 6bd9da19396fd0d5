// Figures from one pair of viewers' reports (bench/liveDelay.ts), and how they are printed.
import type { FrameSample, StatsSnapshot, ViewerReport } from "../../clients/liveDelayPage.ts";
import type { Subscription } from "./outputTap.ts";
import { percentile } from "../sources.ts";

export const LIMIT_MS = 30; // the requirement: equal live delays within 30 ms
const MIN_FRAMES = 5; // readable frames needed in a window
const COURSE_STEP_MS = 500;

/** A viewer's join: its server-side subscription, and every attempt it took to land it. */
export interface Join extends Subscription {
  /** Epoch ms of the player's start in the page. */
  started: number;
  attempts: Subscription[];
}

export interface LiveDelaySetup {
  gopSeconds: number;
  /** Each viewer is measured from this long after its own join... */
  settleMs: number;
  /** ...for this long. */
  windowMs: number;
  audio: boolean;
  /** Both viewers joined at keyframes: a control run. */
  control: boolean;
}

export interface ViewerDelay {
  /** Frames of fast-start catch-up it got (1: joined at the keyframe), and how long after the keyframe it joined. */
  catchUpFrames: number;
  afterKeyframeMs: number;
  /** Display time - time in the picture, mean over the viewer's window: source to screen. */
  delayMs: number;
  /** Arrival of the frame's last packet in the browser - time in the picture: encoder, ingest, server, network. */
  ingestMs: number;
  /** Display time - arrival of the frame's last packet: the browser's share. */
  receiveToDisplayMs: number;
  /** getStats over the window, per emitted frame: jitterBufferDelay, jitterBufferTargetDelay, jitterBufferMinimumDelay. */
  jitterBufferMs: number;
  jitterBufferTargetMs: number;
  jitterBufferMinimumMs: number;
  /** Frames displayed in the window with a readable clock, and unreadable ones since the start. */
  frames: number;
  misreads: number;
  /** Per 500 ms since the viewer started: picture delay, jitter buffer target and minimum, problems (for --trace). */
  course: Array<
    {
      t: number;
      delayMs: number;
      targetMs: number;
      minimumMs: number;
      decodeMs: number;
      audioMs: number;
      events: string;
    }
  >;
}

export interface PairResult {
  fastStart: ViewerDelay;
  keyframe: ViewerDelay;
  /**
   * fastStart.receiveToDisplayMs - keyframe.receiveToDisplayMs, each viewer settleMs after its own join:
   * the part of the live delay that is the viewer's own. The rest (ingestMs) is the same for both at any
   * instant (see arrivalMs) but drifts with the source, so it is left out of a same-age comparison.
   */
  differenceMs: number;
  /** fastStart.delayMs - keyframe.delayMs: the whole live delays at the same age, source drift included. */
  totalDifferenceMs: number;
  /** At one instant (the later join + settleMs), per source frame both displayed: display time A - display time B. */
  simultaneousMs: number;
  /** ...and arrival of its last packet A - B: ~0 when both get the same packets at the same time. */
  arrivalMs: number;
  matchedFrames: number;
  /** Keyframe viewer's attempts, ms after the fast-start viewer started, with the catch-up each got. */
  keyframeAttempts: Array<{ t: number; catchUpFrames: number }>;
}

export interface LiveDelayResult extends LiveDelaySetup {
  pairs: PairResult[];
  /** The whole machine's CPU use during the run, all cores (other work adds jitter). */
  machineBusyPercent: number;
  /** Of |differenceMs| over the pairs. */
  p50: number;
  max: number;
}

export function summarize(pairs: PairResult[], setup: LiveDelaySetup, machineBusyPercent: number): LiveDelayResult {
  const differences = pairs.map((r) => Math.abs(r.differenceMs));
  return { ...setup, pairs, machineBusyPercent, p50: percentile(differences, 50), max: Math.max(...differences) };
}

/** A is the fast-start viewer, B the keyframe one. */
export function pairResult(
  reports: Record<string, ViewerReport>,
  joins: { a: Join; b: Join },
  setup: LiveDelaySetup,
): PairResult {
  const { a, b } = joins;
  const viewerA = reports.A;
  const viewerB = reports.B;
  if (!viewerA || !viewerB) throw new Error(`the pages report viewers ${Object.keys(reports).join(", ")}, not A and B`);
  const fastStart = viewerDelay(viewerA, a, setup);
  const keyframe = viewerDelay(viewerB, b, setup);
  const from = Math.max(viewerA.started, viewerB.started) + setup.settleMs;
  const samplesB = new Map(inWindow(viewerB.samples, from, from + setup.windowMs).map((s) => [s.clock, s]));
  const matched = inWindow(viewerA.samples, from, from + setup.windowMs).flatMap((s) => {
    const other = samplesB.get(s.clock);
    return other
      ? [{
        shown: s.shown - other.shown,
        arrival: s.received !== null && other.received !== null ? s.received - other.received : NaN,
      }]
      : [];
  });
  return {
    fastStart,
    keyframe,
    differenceMs: fastStart.receiveToDisplayMs - keyframe.receiveToDisplayMs,
    totalDifferenceMs: fastStart.delayMs - keyframe.delayMs,
    simultaneousMs: mean(matched.map((m) => m.shown)),
    arrivalMs: mean(matched.map((m) => m.arrival)),
    matchedFrames: matched.length,
    keyframeAttempts: b.attempts.map((s) => ({ t: s.at - a.started, catchUpFrames: s.catchUpFrames })),
  };
}

function inWindow(samples: FrameSample[], from: number, to: number): FrameSample[] {
  return samples.filter((s) => s.shown >= from && s.shown < to);
}

/** The viewer over [its start + settleMs, + windowMs]. */
function viewerDelay(report: ViewerReport, join: Join, setup: LiveDelaySetup): ViewerDelay {
  const from = report.started + setup.settleMs;
  const window = inWindow(report.samples, from, from + setup.windowMs);
  if (window.length < MIN_FRAMES) {
    throw new Error(`only ${window.length} readable frames in a viewer's window (${report.misreads} misreads)`);
  }
  const received = window.filter((s) => s.received !== null);
  const first = report.statsCourse.find((s) => s.at >= from);
  const last = report.statsCourse.findLast((s) => s.at <= from + setup.windowMs);
  const buffer = first && last && last.at > first.at
    ? bufferPerFrame(first, last)
    : { targetMs: NaN, minimumMs: NaN, delayMs: NaN, events: "" };
  return {
    catchUpFrames: join.catchUpFrames,
    afterKeyframeMs: join.afterKeyframeMs,
    delayMs: mean(window.map((s) => s.shown - s.clock)),
    ingestMs: mean(received.map((s) => s.received! - s.clock)),
    receiveToDisplayMs: mean(received.map((s) => s.shown - s.received!)),
    jitterBufferMs: buffer.delayMs,
    jitterBufferTargetMs: buffer.targetMs,
    jitterBufferMinimumMs: buffer.minimumMs,
    frames: window.length,
    misreads: report.misreads,
    course: delayCourse(report),
  };
}

/** Mean picture delay, jitter buffer target and minimum per COURSE_STEP_MS since the viewer started. */
function delayCourse(report: ViewerReport): ViewerDelay["course"] {
  const step = (at: number) => Math.floor((at - report.started) / COURSE_STEP_MS) * COURSE_STEP_MS;
  const delays = new Map<number, number[]>();
  for (const s of report.samples) delays.set(step(s.shown), [...(delays.get(step(s.shown)) ?? []), s.shown - s.clock]);
  const buffer = new Map<number, ReturnType<typeof bufferPerFrame>>();
  report.statsCourse.forEach((s, i) => i > 0 && buffer.set(step(s.at), bufferPerFrame(report.statsCourse[i - 1]!, s)));
  return [...delays].map(([t, d]) => {
    const { targetMs = NaN, minimumMs = NaN, decodeMs = NaN, audioMs = NaN, events = "" } = buffer.get(t) ?? {};
    return { t, delayMs: mean(d), targetMs, minimumMs, decodeMs, audioMs, events };
  });
}

/** Jitter buffer delay, target and minimum per frame between two snapshots, and what went wrong in between. */
function bufferPerFrame(
  before: StatsSnapshot,
  after: StatsSnapshot,
): { delayMs: number; targetMs: number; minimumMs: number; decodeMs: number; audioMs: number; events: string } {
  const perFrame = (key: "jitterBufferDelay" | "jitterBufferTargetDelay" | "jitterBufferMinimumDelay") =>
    ((after[key] - before[key]) / (after.jitterBufferEmittedCount - before.jitterBufferEmittedCount)) * 1000;
  const counters = ["packetsLost", "nackCount", "pliCount", "framesDropped", "freezeCount"] as const;
  const events = counters.flatMap((key) => (after[key] > before[key] ? [`${key}+${after[key] - before[key]}`] : []));
  return {
    delayMs: perFrame("jitterBufferDelay"),
    targetMs: perFrame("jitterBufferTargetDelay"),
    minimumMs: perFrame("jitterBufferMinimumDelay"),
    decodeMs: ((after.totalDecodeTime - before.totalDecodeTime) / (after.framesDecoded - before.framesDecoded)) * 1000,
    audioMs: ((after.audioJitterBufferDelay - before.audioJitterBufferDelay) /
      (after.audioJitterBufferEmittedCount - before.audioJitterBufferEmittedCount)) * 1000,
    events: events.join(","),
  };
}

function mean(values: number[]): number {
  return values.length ? values.reduce((sum, v) => sum + v, 0) / values.length : NaN;
}

const ms = (value: number) => `${value.toFixed(0)} ms`;

const p50Max = (values: number[]) => `p50 ${ms(percentile(values, 50))}, max ${ms(Math.max(...values))}`;

export function formatLiveDelay(r: LiveDelayResult): string {
  const of = (pick: (p: PairResult) => number) => r.pairs.map(pick);
  const verdict = r.max <= LIMIT_MS ? "met" : "NOT met";
  const title = `live delay${r.control ? " CONTROL (both joined at keyframes)" : ""} gop=${r.gopSeconds}s${
    r.audio ? "" : " video-only"
  } pairs=${r.pairs.length}`;
  return (
    `${title}, ${r.settleMs / 1000}-${(r.settleMs + r.windowMs) / 1000} s after joining: ` +
    `|fast-start - keyframe viewer| ${p50Max(of((p) => Math.abs(p.differenceMs)))} (<= ${LIMIT_MS} ms: ${verdict}); ` +
    `live delay fast start ${p50Max(of((p) => p.fastStart.delayMs))} (catch-up p50 ${
      percentile(of((p) => p.fastStart.catchUpFrames), 50)
    } frames), ` +
    `keyframe join ${p50Max(of((p) => p.keyframe.delayMs))} (joined p50 ${
      ms(percentile(of((p) => p.keyframe.afterKeyframeMs), 50))
    } after the keyframe); at one instant |difference| ${p50Max(of((p) => Math.abs(p.simultaneousMs)))}; ` +
    `machine CPU ${r.machineBusyPercent.toFixed(0)}% busy`
  );
}

export function formatPair(p: PairResult, i: number): string {
  const viewer = (v: ViewerDelay) =>
    `${ms(v.delayMs)} = ingest ${ms(v.ingestMs)} + receive->display ${ms(v.receiveToDisplayMs)} ` +
    `(catch-up ${v.catchUpFrames} frames, joined ${ms(v.afterKeyframeMs)} after the keyframe; jitter buffer ${
      ms(v.jitterBufferMs)
    }, target ${ms(v.jitterBufferTargetMs)}, minimum ${ms(v.jitterBufferMinimumMs)}; ` +
    `${v.frames} frames, ${v.misreads} misreads)`;
  return (
    `  pair ${i + 1}: difference ${p.differenceMs.toFixed(1)} ms (whole delay ${
      p.totalDifferenceMs.toFixed(1)
    } ms; at one instant ${p.simultaneousMs.toFixed(1)} ms, ` +
    `arrival ${p.arrivalMs.toFixed(1)} ms, ${p.matchedFrames} frames); fast start ${viewer(p.fastStart)}; keyframe ${
      viewer(p.keyframe)
    }`
  );
}

/** Delay and jitter buffer over time, and when the keyframe viewer's attempts landed. */
export function formatCourse(p: PairResult): string {
  const line = (v: ViewerDelay) =>
    v.course.map((c) =>
      `${(c.t / 1000).toFixed(1)}s:${c.delayMs.toFixed(0)}/${c.targetMs.toFixed(0)}/${c.minimumMs.toFixed(0)}/${
        c.decodeMs.toFixed(1)
      }/${c.audioMs.toFixed(0)}${c.events ? `[${c.events}]` : ""}`
    ).join(" ");
  const attempts = p.keyframeAttempts.map((a) => `${(a.t / 1000).toFixed(2)}s (catch-up ${a.catchUpFrames})`).join(
    ", ",
  );
  return (
    `    picture delay/video jitter buffer target/minimum/decode/audio jitter buffer delay, ms, by time since its start; keyframe viewer subscribed ${attempts} after the fast-start viewer started\n` +
    `    fast start: ${line(p.fastStart)}\n    keyframe:   ${line(p.keyframe)}`
  );
}

// Fast start must not leave a lasting delay: 5 s after joining, a viewer that joined mid-GOP (and got
// the GOP so far squeezed into a few ms, lib/webrtc/whepViewer.ts) must be as live, within 30 ms, as
// one that joined at a keyframe. Two viewers, each in its own headless Chromium, watch a live source
// whose picture carries the wall clock (bench/lib/liveDelay/clockSource.ts): display time - time in the
// picture is a viewer's live delay (the viewers' page code: bench/clients/liveDelayPage.ts). The
// server-side tap (bench/lib/liveDelay/outputTap.ts) says what catch-up each join got and lets the
// keyframe viewer's join be timed to land just after a keyframe. Both are measured over the same
// second of their lives (5-6 s after joining), and also compared frame by frame at one instant.
// Exits 1 when a pair is more than 30 ms apart.
// Usage: bun run bench liveDelay [pairs = 5] [gopSeconds... = 2 4] [--trace] [--settle=ms] [--aim=ms] [--no-audio] [--control] [--one-page]
import type { Page } from "playwright-core";
import { closeViewers, collectReports, installLiveDelay, openViewer } from "./clients/liveDelayPage.ts";
import { startInProcessServer } from "./lib/benchServer.ts";
import { launchChromium } from "./lib/chromium.ts";
import { printFigureLine } from "./lib/figureLine.ts";
import { CLOCK, startClockSource } from "./lib/liveDelay/clockSource.ts";
import {
  formatCourse,
  formatLiveDelay,
  formatPair,
  LIMIT_MS,
  pairResult,
  summarize,
} from "./lib/liveDelay/liveDelayReport.ts";
import type { Join, LiveDelayResult, LiveDelaySetup, PairResult } from "./lib/liveDelay/liveDelayReport.ts";
import { OutputTap, type Subscription } from "./lib/liveDelay/outputTap.ts";
import { machineCpuTicks } from "./lib/procStats.ts";
import { percentile, wallClockMs } from "./lib/sources.ts";
import type { PageGlobals } from "./lib/pageGlobals.ts";

const STREAM = "delay";
const SETTLE_MS = 5000; // "5 s after joining"
const WINDOW_MS = 1000; // delays averaged over this long
const DEFAULT_PAIRS = 5;
const STATS_EVERY_MS = 250;
const KEYFRAME_JOIN_MAX_CATCH_UP = 2; // the keyframe and at most one frame after it (33 ms)
const KEYFRAME_JOIN_AIM_MS = 30; // aim the keyframe viewer's subscription this long after the keyframe (its join latency varies +-20 ms)
const KEYFRAME_JOIN_ATTEMPTS = 8;
const FIRST_LATENCY_GUESS_MS = 120; // page command -> server subscription, before any was measured
const SUBSCRIBE_TIMEOUT_MS = 20_000;

export interface LiveDelayOptions {
  /** Pairs of joins (default 5). */
  pairs?: number;
  /** How long after the later join of a pair the window starts (default 5000 ms, the requirement's). */
  settleMs?: number;
  /** Source with an Opus track (default true). */
  audio?: boolean;
  /** Control run: A joins at a keyframe too, so differences show what is not fast start's doing. */
  control?: boolean;
  /** How long after a keyframe's arrival a keyframe join aims to subscribe (default 30 ms). */
  keyframeAimMs?: number;
  /**
   * Both viewers in one page (default false: a browser each, as separate viewers are; a second tab
   * would not render). One page shares the display refresh, which removes up to 17 ms of vsync
   * noise from the comparison, but also shares one WebRTC audio device between the two.
   */
  onePage?: boolean;
}

/** The page each viewer plays in. */
interface ViewerPages {
  A: Page;
  B: Page;
}

export async function measureLiveDelay(gopSeconds: number, options: LiveDelayOptions = {}): Promise<LiveDelayResult> {
  const {
    pairs = DEFAULT_PAIRS,
    settleMs = SETTLE_MS,
    audio = true,
    control = false,
    onePage = false,
    keyframeAimMs = KEYFRAME_JOIN_AIM_MS,
  } = options;
  const cpuBefore = machineCpuTicks();
  const server = await startInProcessServer({
    WHEP_MAX_VIEWERS: "0",
    WEBRTC_HANDOVER: process.env.WEBRTC_HANDOVER ?? "on",
  });
  const source = startClockSource(`${server.url}/ingest/${STREAM}`, { gopSeconds, audio });
  const browsers: Browser[] = [];
  let tap: OutputTap | undefined;
  try {
    tap = new OutputTap((await server.registry.waitForOutput(STREAM, { timeoutMs: 10_000 })).input!);
    const pages = await openPages(browsers, server.url, onePage);
    const joins = new JoinTimer(tap, { gopSeconds, aimMs: keyframeAimMs });
    const setup: LiveDelaySetup = { gopSeconds, settleMs, windowMs: WINDOW_MS, audio, control };
    const results: PairResult[] = [];
    for (let i = 0; i < pairs; i++) results.push(await measurePair(pages, joins, setup));
    const cpu = machineCpuTicks();
    return summarize(results, setup, (100 * (cpu.busy - cpuBefore.busy)) / (cpu.total - cpuBefore.total));
  } finally {
    await cleanUp([
      () => tap?.close(),
      ...browsers.map((b) => () => b.close()),
      () => source.stop(),
      () => server.close(),
    ]);
  }
}

type Browser = Awaited<ReturnType<typeof launchChromium>>;

/** A page per viewer, each in its own browser (a background tab would not render); `browsers` collects them for closing. */
async function openPages(browsers: Browser[], url: string, onePage: boolean): Promise<ViewerPages> {
  const open = async () => {
    const browser = await launchChromium();
    browsers.push(browser);
    const page = await browser.context.newPage();
    await page.goto(`${url}/healthz`);
    await page.evaluate(installLiveDelay, CLOCK);
    return page;
  };
  const a = await open();
  return { A: a, B: onePage ? a : await open() };
}

/** Runs every step even when one fails, so nothing is left running. */
async function cleanUp(steps: Array<() => unknown>): Promise<void> {
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      console.error(`liveDelay: clean-up step failed: ${(error as Error).message}`);
    }
  }
}

/** Viewer A joins at a random point of the GOP (control: at a keyframe), then B at a keyframe; both play until 5-6 s after the later join. */
async function measurePair(pages: ViewerPages, joins: JoinTimer, setup: LiveDelaySetup): Promise<PairResult> {
  try {
    await joins.waitForNoViewers();
    await Bun.sleep(Math.random() * joins.gopMs);
    const a = setup.control ? await joins.joinAtKeyframe(pages.A, "A") : await joins.join(pages.A, "A");
    await pages.A.waitForFunction(
      () => ((window as unknown as PageGlobals).liveDelay.viewers.get("A")?.samples.length ?? 0) > 0,
      null,
      {
        timeout: 20_000,
      },
    );
    const b = await joins.joinAtKeyframe(pages.B, "B");
    await Bun.sleep(Math.max(a.started, b.started) + setup.settleMs + setup.windowMs + STATS_EVERY_MS - wallClockMs());
    const reports = { ...(await pages.A.evaluate(collectReports)), ...(await pages.B.evaluate(collectReports)) };
    return pairResult(reports, { a, b }, setup);
  } finally {
    await cleanUp([() => pages.A.evaluate(closeViewers, null), () => pages.B.evaluate(closeViewers, null)]);
  }
}

/** Starts viewers, and times a join so that the server subscribes it just after a keyframe. */
class JoinTimer {
  readonly gopMs: number;
  readonly #aimMs: number;
  readonly #tap: OutputTap;
  /** Page command -> server subscription, as measured on every join (ms), per viewer (each has its own browser). */
  readonly #latencies = new Map<string, number[]>();

  constructor(tap: OutputTap, options: { gopSeconds: number; aimMs: number }) {
    this.#tap = tap;
    this.gopMs = options.gopSeconds * 1000;
    this.#aimMs = options.aimMs;
  }

  /** Until the last pair's viewers have left (their DELETEs take a moment) and a keyframe was seen. */
  async waitForNoViewers(): Promise<void> {
    const deadline = Date.now() + 5000;
    while (this.#tap.viewers > 0 || !this.#tap.lastKeyframe) {
      if (Date.now() > deadline) {
        throw new Error(`stream "${STREAM}" still has ${this.#tap.viewers} readers, or no keyframe yet`);
      }
      await Bun.sleep(20);
    }
  }

  async join(page: Page, id: string): Promise<Join> {
    const from = this.#tap.frames.length;
    const command = wallClockMs();
    const started = await page.evaluate(openViewer, [id, STREAM, STATS_EVERY_MS] as const);
    const subscription = await this.#tap.waitForSubscription(from, SUBSCRIBE_TIMEOUT_MS);
    this.#latencies.set(id, [...(this.#latencies.get(id) ?? []), subscription.at - command]);
    return { ...subscription, started, attempts: [subscription] };
  }

  /** Joins so that the catch-up is the keyframe alone (or one frame more); tries again otherwise. */
  async joinAtKeyframe(page: Page, id: string): Promise<Join> {
    const attempts: Subscription[] = [];
    const misses: number[] = [];
    for (let attempt = 1; attempt <= KEYFRAME_JOIN_ATTEMPTS; attempt++) {
      const latency = this.#latency(id);
      const aim = this.#nextKeyframeAfter(wallClockMs() + latency + 100) + this.#aimMs;
      await Bun.sleep(aim - latency - wallClockMs());
      const joined = await this.join(page, id);
      attempts.push(joined);
      if (joined.catchUpFrames >= 1 && joined.catchUpFrames <= KEYFRAME_JOIN_MAX_CATCH_UP) {
        return { ...joined, attempts };
      }
      misses.push(joined.at - aim);
      const others = this.#tap.viewers - 1;
      await page.evaluate(closeViewers, id);
      while (this.#tap.viewers > others) await Bun.sleep(20);
    }
    const missed = misses.map((m) => `${m > 0 ? "+" : ""}${m.toFixed(0)} ms`).join(", ");
    throw new Error(
      `no join of ${id} landed within ${KEYFRAME_JOIN_MAX_CATCH_UP} frames after a keyframe in ${KEYFRAME_JOIN_ATTEMPTS} attempts (missed the aim by ${missed})`,
    );
  }

  /** Typical command -> subscription latency of this viewer's browser (of any, at first). */
  #latency(id: string): number {
    const own = this.#latencies.get(id) ?? [];
    const all = [...this.#latencies.values()].flat();
    if (own.length >= 2) return percentile(own, 50);
    return all.length ? percentile(all, 50) : FIRST_LATENCY_GUESS_MS;
  }

  /** Predicted server arrival (epoch ms) of the first keyframe after `time`, from the last one seen. */
  #nextKeyframeAfter(time: number): number {
    const last = this.#tap.lastKeyframe!.at;
    return last + Math.ceil((time - last) / this.gopMs) * this.gopMs;
  }
}

/** The figure of a run, for its JSON line: the pairs' differences and their summary, not every frame. */
function figure(r: LiveDelayResult) {
  const { pairs, ...summary } = r;
  return { ...summary, pairs: pairs.length, limitMs: LIMIT_MS, differencesMs: pairs.map((p) => p.differenceMs) };
}

/** Runs the pairs for each GOP; false when a pair was more than LIMIT_MS apart. */
export async function main(args: string[]): Promise<boolean> {
  const flags = args.filter((a) => a.startsWith("--"));
  const trace = flags.includes("--trace");
  const value = (name: string) => flags.find((f) => f.startsWith(`--${name}=`))?.slice(name.length + 3);
  const options: LiveDelayOptions = {
    audio: !flags.includes("--no-audio"),
    control: flags.includes("--control"),
    onePage: flags.includes("--one-page"),
    ...(value("settle") ? { settleMs: Number(value("settle")) } : {}),
    ...(value("aim") ? { keyframeAimMs: Number(value("aim")) } : {}),
  };
  const [pairs = String(DEFAULT_PAIRS), ...gops] = args.filter((a) => !a.startsWith("--"));
  const results: LiveDelayResult[] = [];
  for (const gop of gops.length ? gops.map(Number) : [2, 4]) {
    const r = await measureLiveDelay(gop, { ...options, pairs: Number(pairs) });
    results.push(r);
    r.pairs.forEach((p, i) => console.log(formatPair(p, i) + (trace ? `\n${formatCourse(p)}` : "")));
    console.log(formatLiveDelay(r));
  }
  printFigureLine("liveDelay", args, results.map(figure));
  return results.every((r) => r.max <= LIMIT_MS);
}

if (import.meta.main && !(await main(process.argv.slice(2)))) process.exitCode = 1;

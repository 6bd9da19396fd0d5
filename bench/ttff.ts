// Time to first frame: WHEP POST -> first decoded frame in headless Chromium,
// over repeated joins of a live ffmpeg push. Usage: bun run bench ttff [joins = 12] [gopSeconds... = 1 2]
import { startInProcessServer } from "./lib/benchServer.ts";
import { launchChromium } from "./lib/chromium.ts";
import { printFigureLine } from "./lib/figureLine.ts";
import { loopedPushArgv, percentile, testSource } from "./lib/sources.ts";
import type { PageGlobals } from "./lib/pageGlobals.ts";

export interface TtffResult {
  gopSeconds: number;
  joins: number;
  p50: number;
  p95: number;
  answerP50: number;
}

export async function measureTtff(gopSeconds: number, joins: number): Promise<TtffResult> {
  const source = testSource({ gopSeconds });
  const server = await startInProcessServer({ WHEP_MAX_VIEWERS: "0" });
  const push = Bun.spawn(loopedPushArgv(source, `${server.url}/ingest/bench`), {
    stdio: ["ignore", "ignore", "inherit"],
  });
  const browser = await launchChromium();
  const firstFrames: number[] = [];
  const answers: number[] = [];
  try {
    await server.registry.waitForOutput("bench", { timeoutMs: 10_000 });
    const page = await browser.context.newPage();
    for (let i = 0; i < joins; i++) {
      // Joins land at random points of the GOP, as real viewers do.
      await Bun.sleep(Math.random() * gopSeconds * 1000);
      await page.goto(`${server.url}/play/bench`);
      await page.waitForFunction(() => (window as unknown as PageGlobals).wispPlayer?.timings?.firstFrame, null, {
        timeout: 20_000,
      });
      const t = await page.evaluate(() => (window as unknown as PageGlobals).wispPlayer.timings);
      firstFrames.push(t.firstFrame - t.post);
      answers.push(t.answer - t.post);
      await page.evaluate(() => (window as unknown as PageGlobals).wispPlayer.stop());
    }
  } finally {
    await browser.close();
    push.kill("SIGINT");
    await push.exited;
    await server.close();
  }
  return {
    gopSeconds,
    joins,
    p50: percentile(firstFrames, 50),
    p95: percentile(firstFrames, 95),
    answerP50: percentile(answers, 50),
  };
}

export async function main(args: string[]): Promise<void> {
  const [joins = "12", ...gops] = args;
  const results: TtffResult[] = [];
  for (const gop of gops.length ? gops.map(Number) : [1, 2]) {
    const r = await measureTtff(gop, Number(joins));
    results.push(r);
    console.log(
      `ttff gop=${gop}s joins=${r.joins}: POST->first frame p50 ${r.p50.toFixed(0)} ms, p95 ${
        r.p95.toFixed(0)
      } ms; POST->answer p50 ${r.answerP50.toFixed(0)} ms`,
    );
  }
  printFigureLine("ttff", args, results);
}

if (import.meta.main) await main(process.argv.slice(2));

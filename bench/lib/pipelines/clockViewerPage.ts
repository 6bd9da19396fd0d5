// One headless Chromium page for the pipeline benchmarks: the live-delay page code
// (bench/clients/liveDelayPage.ts: WHEP viewers reading the clock in each frame) and the frame-gap
// page code (bench/clients/frameGapPage.ts: every presented frame, the WHEP POSTs) installed once;
// viewers then come and go in it.
import type { Page } from "playwright-core";
import { countWhepPosts, presentedFrames, watchPresentedFrames } from "../../clients/frameGapPage.ts";
import { closeViewers, collectReports, installLiveDelay, openViewer } from "../../clients/liveDelayPage.ts";
import type { ViewerReport } from "../../clients/liveDelayPage.ts";
import { launchChromium } from "../chromium.ts";
import { CLOCK } from "../liveDelay/clockSource.ts";
import type { PageGlobals } from "../pageGlobals.ts";

const STATS_EVERY_MS = 1000; // the stats are not used here: rarely, to stay out of the way
const FIRST_FRAME_TIMEOUT_MS = 20_000;

export interface ClockViewerPage {
  /** Starts viewer `id` of `stream` and waits for its first clean clock read; returns when it started (epoch ms). */
  open(id: string, stream: string): Promise<number>;
  /** What viewer `id` displayed so far (delays: shown - clock). */
  report(id: string): Promise<ViewerReport>;
  /** Viewer `id`'s presented frames at or after `since` (epoch ms), and the page's WHEP POSTs so far. */
  presented(id: string, since: number): Promise<{ frames: number[]; whepPosts: number }>;
  /** Stops viewer `id` (its player DELETEs its session). */
  closeViewer(id: string): Promise<void>;
  close(): Promise<void>;
}

export async function openClockViewerPage(serverUrl: string): Promise<ClockViewerPage> {
  const browser = await launchChromium();
  const page: Page = await browser.context.newPage();
  await page.goto(`${serverUrl}/healthz`); // same origin as /whep, nothing else loaded
  await page.evaluate(installLiveDelay, CLOCK);
  await page.evaluate(countWhepPosts);
  return {
    async open(id, stream) {
      const started = await page.evaluate(openViewer, [id, stream, STATS_EVERY_MS] as const);
      await page.evaluate(watchPresentedFrames, id);
      await page.waitForFunction(
        (viewer) => ((window as unknown as PageGlobals).liveDelay.viewers.get(viewer)?.samples.length ?? 0) > 0,
        id,
        { timeout: FIRST_FRAME_TIMEOUT_MS },
      );
      return started;
    },
    report: async (id) => (await page.evaluate(collectReports))[id]!,
    presented: (id, since) => page.evaluate(presentedFrames, [id, since] as const),
    closeViewer: (id) => page.evaluate(closeViewers, id),
    close: () => browser.close(),
  };
}

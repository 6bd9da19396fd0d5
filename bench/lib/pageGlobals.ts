/**
 * What the pages expose on `window` for the benchmarks to read inside
 * page.evaluate (routes/player/*.js, bench/clients/liveDelayPage.ts): typed
 * here once, since the pages are plain JavaScript.
 */
export interface PageGlobals {
  // firstFrame is set once the first frame shows: the benchmarks wait for it before they read it.
  wispPlayer: { timings: { post: number; answer: number; firstFrame: number }; stop(): Promise<void> };
  publisher: { stop(): Promise<void> };
  liveDelay: { viewers: Map<string, { samples: unknown[] }> };
}

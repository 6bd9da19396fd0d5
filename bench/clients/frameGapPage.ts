// Runs in the viewer page through page.evaluate, next to bench/clients/liveDelayPage.ts: records
// when every frame of a viewer's <video> is presented (requestVideoFrameCallback, whether or not its
// barcode reads cleanly), and counts the page's WHEP POSTs, so that a swap can be shown to keep one
// WHEP session. Playwright sends each function's source alone: they share state through
// `window.frameGap` and call nothing else from this file.

interface FrameGapGlobals {
  /** WHEP offers (POST /whep/{stream}) since countWhepPosts(). */
  whepPosts: number;
  /** Epoch ms (the page's clock) of each presented frame, per viewer id. */
  presented: Map<string, number[]>;
}

/** Wraps fetch to count WHEP POSTs: a player that gave up its session and offered again would POST. */
export function countWhepPosts(): void {
  const w = window as unknown as { frameGap?: FrameGapGlobals };
  if (w.frameGap) return;
  const g: FrameGapGlobals = { whepPosts: 0, presented: new Map() };
  w.frameGap = g;
  const fetchBefore = globalThis.fetch.bind(globalThis);
  globalThis.fetch = ((input: RequestInfo | URL, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input);
    const method = init?.method ?? (input instanceof Request ? input.method : "GET");
    // An offer goes to /whep/{stream}; the session's own POSTs (/whep/{stream}/{id}/report) are no new session.
    if (method === "POST" && /^\/whep\/[^/]+$/.test(new URL(url, location.href).pathname)) g.whepPosts++;
    return fetchBefore(input, init);
  }) as typeof fetch;
}

/** Records the presentation time of every frame of liveDelay viewer `id`'s video from now on. */
export function watchPresentedFrames(id: string): void {
  const w = window as unknown as {
    frameGap: FrameGapGlobals;
    liveDelay: { viewers: Map<string, { video: HTMLVideoElement; closed: boolean }> };
  };
  const viewer = w.liveDelay.viewers.get(id)!;
  const times: number[] = [];
  w.frameGap.presented.set(id, times);
  const onFrame = (_now: number, meta: VideoFrameCallbackMetadata) => {
    if (viewer.closed) return;
    times.push(performance.timeOrigin + meta.expectedDisplayTime);
    viewer.video.requestVideoFrameCallback(onFrame);
  };
  viewer.video.requestVideoFrameCallback(onFrame);
}

/** The presented frames of viewer `id` at or after `since` (epoch ms), and the WHEP POSTs so far. */
export function presentedFrames([id, since]: readonly [string, number]): { frames: number[]; whepPosts: number } {
  const g = (window as unknown as { frameGap: FrameGapGlobals }).frameGap;
  return { frames: (g.presented.get(id) ?? []).filter((t) => t >= since), whepPosts: g.whepPosts };
}

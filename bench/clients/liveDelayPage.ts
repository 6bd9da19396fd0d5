// Runs in the viewer page through page.evaluate: WHEP viewers (the project's own WhepPlayer) in
// <video> elements, the barcode clock of every displayed frame read back (bench/lib/liveDelay/clockSource.ts),
// and inbound-rtp stats. Playwright sends each function's source alone, so they share
// state through `window.liveDelay` and call nothing else from this file.
import type { CLOCK } from "../lib/liveDelay/clockSource.ts";

/** One displayed frame. Times are epoch ms on the page's clock. */
export interface FrameSample {
  /** requestVideoFrameCallback's expectedDisplayTime. */
  shown: number;
  /** The time written in the picture. */
  clock: number;
  /** When its last packet arrived (rVFC receiveTime), if the browser says. */
  received: number | null;
}

/** Cumulative inbound-rtp counters (seconds where W3C webrtc-stats says so): video's, and audio's jitter buffer. */
export interface ReceiveStats {
  jitterBufferDelay: number;
  jitterBufferTargetDelay: number;
  jitterBufferMinimumDelay: number;
  jitterBufferEmittedCount: number;
  totalDecodeTime: number;
  framesDecoded: number;
  framesDropped: number;
  packetsLost: number;
  nackCount: number;
  pliCount: number;
  freezeCount: number;
  audioJitterBufferDelay: number;
  audioJitterBufferTargetDelay: number;
  audioJitterBufferEmittedCount: number;
}

/** A stats snapshot, taken every `statsEveryMs` while a viewer plays. */
export interface StatsSnapshot extends ReceiveStats {
  at: number;
}

export interface ViewerReport {
  started: number;
  samples: FrameSample[];
  misreads: number;
  statsCourse: StatsSnapshot[];
}

interface PageViewer {
  player: { start(): void; stop(): Promise<void>; pc?: RTCPeerConnection };
  video: HTMLVideoElement;
  started: number;
  samples: FrameSample[];
  misreads: number;
  statsCourse: StatsSnapshot[];
  closed: boolean;
}

interface LiveDelayGlobals {
  WhepPlayer: new (options: { url: string; video: HTMLVideoElement }) => PageViewer["player"];
  viewers: Map<string, PageViewer>;
  readClock(video: HTMLVideoElement, near: number): number | undefined;
  stats(viewer: PageViewer): Promise<ReceiveStats>;
}

/** Sets up `window.liveDelay`: the player class, the viewer table, the barcode reader and the stats reader. */
export async function installLiveDelay(clock: typeof CLOCK): Promise<void> {
  const canvas = Object.assign(document.createElement("canvas"), { width: clock.width, height: 2 * clock.row });
  const ctx = canvas.getContext("2d", { willReadFrequently: true })!;
  const readClock = (video: HTMLVideoElement, near: number): number | undefined => {
    const stripHeight = (2 * clock.row * video.videoWidth) / clock.width;
    ctx.drawImage(video, 0, 0, video.videoWidth, stripHeight, 0, 0, clock.width, 2 * clock.row);
    const data = ctx.getImageData(0, 0, clock.width, 2 * clock.row).data;
    let code = 0;
    for (let bit = 0; bit < clock.bits; bit++) {
      const x = bit * clock.block + clock.block / 2;
      const top = data[((clock.row / 2) * clock.width + x) * 4]! > 128;
      const bottom = data[(((3 * clock.row) / 2) * clock.width + x) * 4]! > 128;
      if (top === bottom) return undefined; // the inverted copy disagrees: not a clean read
      if (top) code += 2 ** bit;
    }
    const period = 2 ** clock.bits;
    return code + period * Math.round((near - code) / period);
  };
  const stats = async (viewer: PageViewer): Promise<ReceiveStats> => {
    const video = {
      jitterBufferDelay: 0,
      jitterBufferTargetDelay: 0,
      jitterBufferMinimumDelay: 0,
      jitterBufferEmittedCount: 0,
      totalDecodeTime: 0,
      framesDecoded: 0,
      framesDropped: 0,
      packetsLost: 0,
      nackCount: 0,
      pliCount: 0,
      freezeCount: 0,
    };
    const audio = { audioJitterBufferDelay: 0, audioJitterBufferTargetDelay: 0, audioJitterBufferEmittedCount: 0 };
    (await viewer.player.pc?.getStats())?.forEach((r) => {
      if (r.type !== "inbound-rtp") return;
      if (r.kind === "video") {
        for (const key of Object.keys(video) as Array<keyof typeof video>) video[key] = r[key] ?? 0;
      }
      if (r.kind === "audio") {
        for (const key of Object.keys(audio) as Array<keyof typeof audio>) {
          audio[key] = r[key.replace("audioJ", "j")] ?? 0;
        }
      }
    });
    return { ...video, ...audio };
  };
  const { WhepPlayer } = await import("/player/whepPlayer.js" as string); // loaded now, so joins do not wait for it
  (window as unknown as { liveDelay: LiveDelayGlobals }).liveDelay = {
    WhepPlayer,
    viewers: new Map(),
    readClock,
    stats,
  };
}

/** Opens a viewer of `stream` in a new <video>, its stats read every `statsEveryMs`; returns when it started (epoch ms). */
export function openViewer([id, stream, statsEveryMs]: readonly [string, string, number]): number {
  const g = (window as unknown as { liveDelay: LiveDelayGlobals }).liveDelay;
  const video = Object.assign(document.createElement("video"), { autoplay: true, playsInline: true, width: 320 });
  document.body.append(video);
  const player = new g.WhepPlayer({ url: `/whep/${encodeURIComponent(stream)}`, video });
  const viewer: PageViewer = {
    player,
    video,
    started: performance.timeOrigin + performance.now(),
    samples: [],
    misreads: 0,
    statsCourse: [],
    closed: false,
  };
  g.viewers.set(id, viewer);
  const poll = setInterval(async () => {
    if (viewer.closed) return clearInterval(poll);
    viewer.statsCourse.push({ at: performance.timeOrigin + performance.now(), ...(await g.stats(viewer)) });
  }, statsEveryMs);
  const onFrame = (_now: number, meta: VideoFrameCallbackMetadata & { receiveTime?: number }) => {
    if (viewer.closed) return;
    const shown = performance.timeOrigin + meta.expectedDisplayTime;
    const clock = g.readClock(video, shown);
    // A clean read is drawn before it is shown and less than 10 s ago; anything else is a misread.
    if (clock === undefined || clock > shown + 5 || shown - clock > 10_000) viewer.misreads++;
    else {viewer.samples.push({
        shown,
        clock,
        received: meta.receiveTime ? performance.timeOrigin + meta.receiveTime : null,
      });}
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  player.start();
  return viewer.started;
}

/** What every open viewer displayed so far, with its stats snapshots. */
export function collectReports(): Record<string, ViewerReport> {
  const g = (window as unknown as { liveDelay: LiveDelayGlobals }).liveDelay;
  const reports: Record<string, ViewerReport> = {};
  for (const [id, v] of g.viewers) {
    reports[id] = { started: v.started, samples: v.samples, misreads: v.misreads, statsCourse: v.statsCourse };
  }
  return reports;
}

/** Stops the viewer `id` (its player DELETEs the WHEP session) or, without an id, all of them. */
export async function closeViewers(id: string | null): Promise<void> {
  const g = (window as unknown as { liveDelay?: LiveDelayGlobals }).liveDelay;
  for (const [key, viewer] of [...(g?.viewers ?? [])]) {
    if (id !== null && key !== id) continue;
    viewer.closed = true;
    await viewer.player.stop();
    viewer.video.remove();
    g!.viewers.delete(key);
  }
}

import type { Page } from "playwright-core";
import { eventually } from "./eventually.ts";

/** The Chromium launch the benchmarks use too: it lives with them (tests may import bench/lib, not the reverse). */
export { launchChromium } from "../../bench/lib/chromium.ts";

export interface PlaybackStats {
  state: string;
  framesDecoded: number;
  audioPackets: number;
  width: number;
  height: number;
}

/** Reads the player page's state and its peer connection's inbound-rtp stats. */
export function playbackStats(page: Page): Promise<PlaybackStats> {
  return page.evaluate(async () => {
    const player = (window as unknown as { wispPlayer: { pc?: RTCPeerConnection; state: string } }).wispPlayer;
    const video = document.getElementById("video") as HTMLVideoElement;
    let framesDecoded = 0;
    let audioPackets = 0;
    const stats = await player.pc?.getStats();
    stats?.forEach((r) => {
      if (r.type === "inbound-rtp" && r.kind === "video") framesDecoded = r.framesDecoded ?? 0;
      if (r.type === "inbound-rtp" && r.kind === "audio") audioPackets = r.packetsReceived ?? 0;
    });
    return { state: player.state, framesDecoded, audioPackets, width: video.videoWidth, height: video.videoHeight };
  });
}

/** Polls the page every 100 ms (browsers push no events for stats) until `predicate` holds. */
export async function waitForPlayback(
  page: Page,
  predicate: (s: PlaybackStats) => boolean,
  timeoutMs = 20_000,
): Promise<PlaybackStats> {
  let last: PlaybackStats | undefined;
  const holds = async () => predicate(last = await playbackStats(page));
  await eventually(holds, () => `the playback condition (last: ${JSON.stringify(last)})`, {
    timeoutMs,
    intervalMs: 100,
  });
  return last!;
}

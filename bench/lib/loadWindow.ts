// The load clients' protocol with bench/fanout.ts, on stdout: "ready" once every
// viewer receives media and `settled()` holds (or 20 s passed), "window" when
// the measured window opens (a line on stdin with --go-on-stdin, else 2 s
// later), then one JSON line of per-viewer packet counts and losses, the
// client's CPU and `extra()`. With --go-on-stdin it returns only at a second
// line, so that fanout.ts reads the server's figures before any client ends its sessions.
import type { RtpSequenceCount } from "./rtpSequenceCount.ts";
import { streamLines } from "./streamLines.ts";

export interface LoadReport {
  viewers: number;
  /** Viewers that never received 50 packets within 20 s. */
  starved: number;
  packets: number[];
  lost: number[];
  /** This process's CPU over the window. */
  cpuSeconds: number;
}

/** One load viewer as the window sees it: its packet count and its WHEP session. */
export interface LoadViewer {
  count: RtpSequenceCount;
  location?: string;
}

export interface LoadHooks<Extra extends object> {
  /** Besides every viewer receiving, what "ready" waits for (the probe: pictures arriving live). */
  settled?: () => boolean;
  onWindow?: (open: boolean) => void;
  /** More fields for the report. */
  extra?: () => Extra;
}

/**
 * A load client's whole run: `n` viewers connected one at a time, like
 * arriving users (`connect(i)` makes viewer i), the window, then their
 * sessions ended. Returns the viewers, for the caller to close.
 */
export async function runLoadViewers<V extends LoadViewer, Extra extends object>(
  n: number,
  windowSeconds: number,
  connect: (index: number) => Promise<V>,
  hooks: LoadHooks<Extra> = {},
): Promise<V[]> {
  const viewers: V[] = [];
  for (let i = 0; i < n; i++) viewers.push(await connect(i));
  await runLoadWindow(viewers.map((v) => v.count), windowSeconds, hooks);
  await deleteSessions(viewers.map((v) => v.location));
  return viewers;
}

async function runLoadWindow<Extra extends object>(
  counts: RtpSequenceCount[],
  windowSeconds: number,
  hooks: LoadHooks<Extra>,
): Promise<void> {
  const deadline = Date.now() + 20_000;
  const receiving = () => counts.every((c) => c.packets >= 50);
  while (!(receiving() && (hooks.settled?.() ?? true)) && Date.now() < deadline) await Bun.sleep(100);
  const starved = counts.filter((c) => c.packets < 50).length; // reported, not hidden
  console.log("ready");
  const stdin = process.argv.includes("--go-on-stdin") ? streamLines(Bun.stdin.stream()) : undefined;
  if (stdin) await stdin.next();
  else await Bun.sleep(2000);
  for (const c of counts) c.reset();
  console.log("window");
  hooks.onWindow?.(true);
  const cpuAtStart = process.cpuUsage();
  await Bun.sleep(windowSeconds * 1000);
  hooks.onWindow?.(false);
  const cpu = process.cpuUsage(cpuAtStart);
  const report = {
    viewers: counts.length,
    starved,
    packets: counts.map((c) => c.packets),
    lost: counts.map((c) => c.lost),
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    ...(hooks.extra?.() ?? ({} as Extra)),
  };
  console.log(JSON.stringify(report));
  if (stdin) await stdin.next();
}

/** A load viewer's WHEP POST (draft-ietf-wish-whep): the answer and the session's URL; throws unless 201. */
export async function postOffer(url: string, offerSdp: string): Promise<{ answer: string; location: string }> {
  const response = await fetch(url, { method: "POST", headers: { "Content-Type": "application/sdp" }, body: offerSdp });
  if (response.status !== 201) throw new Error(`POST ${response.status}: ${await response.text()}`);
  return { answer: await response.text(), location: new URL(response.headers.get("Location")!, url).href };
}

/** Ends the load viewers' sessions (WHEP DELETE); one already gone is no error. */
async function deleteSessions(locations: Array<string | undefined>): Promise<void> {
  await Promise.all(
    locations.map((location) => (location ? fetch(location, { method: "DELETE" }).catch(() => {}) : undefined)),
  );
}

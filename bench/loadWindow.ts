// The load clients' protocol with bench/fanout.ts, on stdout: "ready" once every
// viewer receives media and `settled()` holds (or 20 s passed), "window" when
// the measured window opens (a line on stdin with --go-on-stdin, else 2 s
// later), then one JSON line of per-viewer packet counts and losses, the
// client's CPU and `extra()`. With --go-on-stdin it returns only at a second
// line, so that fanout.ts reads the server's figures before any client ends its sessions.
import type { RtpSequenceCount } from "./rtpSequenceCount.ts";

export interface LoadReport {
  viewers: number;
  /** Viewers that never received 50 packets within 20 s. */
  starved: number;
  packets: number[];
  lost: number[];
  /** This process's CPU over the window. */
  cpuSeconds: number;
}

export async function runLoadWindow<Extra extends object>(
  counts: RtpSequenceCount[],
  windowSeconds: number,
  hooks: { settled?: () => boolean; onWindow?: (open: boolean) => void; extra?: () => Extra } = {},
): Promise<LoadReport & Extra> {
  const deadline = Date.now() + 20_000;
  const receiving = () => counts.every((c) => c.packets >= 50);
  while (!(receiving() && (hooks.settled?.() ?? true)) && Date.now() < deadline) await Bun.sleep(100);
  const starved = counts.filter((c) => c.packets < 50).length; // reported, not hidden
  console.log("ready");
  const stdin = process.argv.includes("--go-on-stdin") ? stdinLines() : undefined;
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
  return report;
}

/** A load viewer's WHEP POST (draft-ietf-wish-whep): the answer and the session's URL; throws unless 201. */
export async function postOffer(url: string, offerSdp: string): Promise<{ answer: string; location: string }> {
  const response = await fetch(url, { method: "POST", headers: { "Content-Type": "application/sdp" }, body: offerSdp });
  if (response.status !== 201) throw new Error(`POST ${response.status}: ${await response.text()}`);
  return { answer: await response.text(), location: new URL(response.headers.get("Location")!, url).href };
}

/** Ends the load viewers' sessions (WHEP DELETE); one already gone is no error. */
export async function deleteSessions(locations: Array<string | undefined>): Promise<void> {
  await Promise.all(locations.map((location) => (location ? fetch(location, { method: "DELETE" }).catch(() => {}) : undefined)));
}

/** Lines from stdin, one per next(). */
async function* stdinLines(): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = "";
  const reader = Bun.stdin.stream().getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    buffered += decoder.decode(r.value);
    for (let i = buffered.indexOf("\n"); i >= 0; i = buffered.indexOf("\n")) {
      yield buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
    }
  }
}

// Fan-out cost: one ~3 Mbit/s stream, N load viewers; server CPU per packet per
// viewer from /proc, RSS per viewer, loss. Usage: bun bench/fanout.ts [N...]
import { cpuSeconds, rssMb } from "./procStats.ts";
import { testSource } from "./sources.ts";

const WINDOW_S = 10;

export interface FanoutResult {
  viewers: number;
  usPerPacketPerViewer: number;
  cpuPercent: number;
  rssPerViewerMb: number;
  packetsPerViewerPerSecond: number;
  lossPercent: number;
  viewersPerCoreAt3Mbps: number;
  /** Viewers that never received media within 20 s of their POST. */
  starved: number;
}

async function lines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buffered = "";
  const reader = stream.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    const chunk = r.value;
    buffered += decoder.decode(chunk);
    for (let i = buffered.indexOf("\n"); i >= 0; i = buffered.indexOf("\n")) {
      onLine(buffered.slice(0, i));
      buffered = buffered.slice(i + 1);
    }
  }
}

export async function measureFanout(counts: number[], serverCommand: string[] = [process.execPath, "main.ts"]): Promise<FanoutResult[]> {
  const port = 18000 + Math.floor(Math.random() * 1000);
  const base = `http://127.0.0.1:${port}`;
  const server = Bun.spawn(serverCommand, {
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", WHEP_MAX_VIEWERS: "0", LOG_LEVEL: "warn" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const source = testSource({ gopSeconds: 2, bitrateKbps: 3000, size: "1280x720" });
  await waitForHttp(`${base}/healthz`);
  const push = Bun.spawn(["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", source, "-c", "copy", "-f", "mpegts", `${base}/ingest/load`], { stdio: ["ignore", "ignore", "inherit"] });
  const results: FanoutResult[] = [];
  try {
    await Bun.sleep(1500);
    const idleRss = rssMb(server.pid);
    for (const n of counts) {
      console.error(`fanout: ${n} viewers…`);
      results.push(await measureOnce(n, base, server.pid, idleRss));
      console.error(formatFanout(results.at(-1)!));
    }
  } finally {
    push.kill("SIGINT");
    await push.exited;
    server.kill("SIGTERM");
    await server.exited;
  }
  return results;
}

async function measureOnce(n: number, base: string, pid: number, idleRss: number): Promise<FanoutResult> {
  const load = Bun.spawn([process.execPath, new URL("./loadViewers.ts", import.meta.url).pathname, `${base}/whep/load`, String(n), String(WINDOW_S)], { stdio: ["ignore", "pipe", "inherit"] });
  let cpuStart = 0;
  let cpuEnd = 0;
  let rss = 0;
  let report: { starved: number; packets: number[]; lost: number[] } | undefined;
  await lines(load.stdout, (line) => {
    if (line === "window") cpuStart = cpuSeconds(pid);
    else if (line.startsWith("{")) {
      cpuEnd = cpuSeconds(pid);
      rss = rssMb(pid);
      report = JSON.parse(line);
    }
  });
  if ((await load.exited) !== 0 || !report) throw new Error(`load client with ${n} viewers failed`);
  await Bun.sleep(1000); // let DELETEs settle before the next round
  const packets = report.packets.reduce((a, b) => a + b, 0);
  const lost = report.lost.reduce((a, b) => a + b, 0);
  const cpu = cpuEnd - cpuStart;
  const perViewerPps = packets / n / WINDOW_S;
  const usPerPacket = (cpu * 1e6) / packets;
  return {
    viewers: n,
    usPerPacketPerViewer: usPerPacket,
    cpuPercent: (cpu / WINDOW_S) * 100,
    rssPerViewerMb: (rss - idleRss) / n,
    packetsPerViewerPerSecond: perViewerPps,
    lossPercent: (lost / Math.max(1, packets + lost)) * 100,
    viewersPerCoreAt3Mbps: 1e6 / (usPerPacket * perViewerPps),
    starved: report.starved,
  };
}

async function waitForHttp(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    await Bun.sleep(100);
  }
  throw new Error(`${url} did not answer`);
}

export function formatFanout(r: FanoutResult): string {
  return `fanout N=${r.viewers}: ${r.usPerPacketPerViewer.toFixed(2)} us/packet/viewer, server CPU ${r.cpuPercent.toFixed(0)}%, ${r.packetsPerViewerPerSecond.toFixed(0)} pkt/s/viewer, loss ${r.lossPercent.toFixed(3)}%, RSS ${r.rssPerViewerMb.toFixed(2)} MB/viewer, ~${r.viewersPerCoreAt3Mbps.toFixed(0)} viewers/core${r.starved ? `, ${r.starved} viewers got no media` : ""}`;
}

if (import.meta.main) {
  const counts = process.argv.slice(2).map(Number);
  for (const r of await measureFanout(counts.length ? counts : [50, 100, 200])) console.log(formatFanout(r));
}

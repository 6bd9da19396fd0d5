// What one viewer costs in memory: the server in this process, node-datachannel
// viewers in other processes. A first batch of N viewers pays the one-time costs
// too (JIT-compiled code, the DTLS handshakes' allocations); a second batch of N
// shows what each further viewer costs, once werift has handed the connections
// over (lib/webrtc/viewerLink.ts). --packet-sealing seals SRTP packet by packet (WebrtcSetupOptions).
// Usage: bun run bench viewerMemory [N = 50] [--handover=off] [--packet-sealing]
import { heapStats } from "bun:jsc";
import { type InProcessServer, startInProcessServer } from "./lib/benchServer.ts";
import { printFigureLine } from "./lib/figureLine.ts";
import { testSource } from "./lib/sources.ts";
import { accessUnitsOf, stampedPush } from "./lib/stampedPush.ts";

/** The allocator gives the handshakes' freed pages back to the system over some seconds. */
const SETTLE_MS = 10_000;

interface Sample {
  rss: number;
  heap: number;
  buffers: number;
  types: Record<string, number>;
}

/** Bytes per viewer between two samples. */
export interface MemoryPerViewer {
  rss: number;
  heap: number;
  buffers: number;
}

export interface ViewerMemoryResult {
  handOver: boolean;
  viewers: number;
  handedOver: number;
  /** The first N viewers, one-time costs included. */
  first: MemoryPerViewer;
  /** The next N, as they joined and SETTLE_MS later. */
  next: MemoryPerViewer;
  nextSettled: MemoryPerViewer;
  /** JS objects per further viewer, by type, most first. */
  objects: Array<[string, number]>;
}

function sample(): Sample {
  Bun.gc(true);
  const heap = heapStats();
  return {
    rss: process.memoryUsage().rss,
    heap: heap.heapSize,
    buffers: heap.extraMemorySize,
    types: heap.objectTypeCounts,
  };
}

function perViewer(from: Sample, to: Sample, n: number): MemoryPerViewer {
  return { rss: (to.rss - from.rss) / n, heap: (to.heap - from.heap) / n, buffers: (to.buffers - from.buffers) / n };
}

function grownTypes(from: Sample, to: Sample, n: number): Array<[string, number]> {
  return Object.entries(to.types)
    .map(([type, count]): [string, number] => [type, (count - (from.types[type] ?? 0)) / n])
    .filter(([, count]) => count >= 1)
    .sort((a, b) => b[1] - a[1]);
}

/** N more viewers, once they all receive media and (with the hand-over) have left werift. */
async function addViewers(
  server: InProcessServer,
  n: number,
  handOver: boolean,
): Promise<ReturnType<typeof Bun.spawn>> {
  const script = new URL("./clients/loadViewers.ts", import.meta.url).pathname;
  const load = Bun.spawn([process.execPath, script, `${server.url}/whep/load`, String(n), "600"], {
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = load.stdout.getReader();
  for (let text = ""; !text.includes("window");) text += new TextDecoder().decode((await reader.read()).value);
  reader.releaseLock();
  const deadline = Date.now() + 15_000;
  const settled = () => !handOver || server.viewers.list().every((v) => v.handedOver);
  while (!settled() && Date.now() < deadline) await Bun.sleep(250);
  await Bun.sleep(2000); // the released connections' timers run out
  return load;
}

export async function measureViewerMemory(
  n: number,
  options: { handOver: boolean; packetSealing?: boolean },
): Promise<ViewerMemoryResult> {
  const env = { WHEP_MAX_VIEWERS: "0", WEBRTC_HANDOVER: options.handOver ? "on" : "off" };
  const server = await startInProcessServer(env, { packetSealing: options.packetSealing ?? false });
  const units = await accessUnitsOf(testSource({ gopSeconds: 2, bitrateKbps: 3000, size: "1280x720" }));
  const push = stampedPush(`${server.url}/ingest/load`, units);
  const batches: Array<ReturnType<typeof Bun.spawn>> = [];
  try {
    await Bun.sleep(2000);
    const idle = sample();
    batches.push(await addViewers(server, n, options.handOver));
    const first = sample();
    batches.push(await addViewers(server, n, options.handOver));
    const second = sample();
    await Bun.sleep(SETTLE_MS);
    const settled = sample();
    return {
      handOver: options.handOver,
      viewers: server.viewers.size,
      handedOver: server.viewers.list().filter((v) => v.handedOver).length,
      first: perViewer(idle, first, n),
      next: perViewer(first, second, n),
      nextSettled: perViewer(first, settled, n),
      objects: grownTypes(first, settled, n),
    };
  } finally {
    for (const load of batches) load.kill();
    await Promise.all(batches.map((load) => load.exited));
    await push.stop();
    await server.close();
  }
}

export function formatViewerMemory(r: ViewerMemoryResult): string {
  const kb = (m: MemoryPerViewer) =>
    `RSS ${(m.rss / 1024).toFixed(0)} KB, JS heap ${(m.heap / 1024).toFixed(0)} KB, buffers ${
      (m.buffers / 1024).toFixed(0)
    } KB`;
  const n = r.viewers / 2;
  return [
    `memory, hand-over ${r.handOver ? "on" : "off"} (${r.handedOver} of ${r.viewers} viewers handed over):`,
    `  first ${n} viewers, per viewer (one-time costs included): ${kb(r.first)}`,
    `  next ${n}, per viewer: ${kb(r.next)}; ${SETTLE_MS / 1000} s later ${kb(r.nextSettled)}`,
    `  JS objects per further viewer: ${r.objects.map(([type, count]) => `${count.toFixed(0)} ${type}`).join(", ")}`,
  ].join("\n");
}

export async function main(args: string[]): Promise<void> {
  const n = Number(args.find((a) => /^\d+$/.test(a)) ?? 50);
  const options = { handOver: !args.includes("--handover=off"), packetSealing: args.includes("--packet-sealing") };
  const result = await measureViewerMemory(n, options);
  console.log(formatViewerMemory(result));
  printFigureLine("viewerMemory", args, result);
}

if (import.meta.main) await main(process.argv.slice(2));

// What one viewer costs in memory: the server in this process, node-datachannel
// viewers in other processes. A first batch of N viewers pays the one-time costs
// too (JIT-compiled code, the DTLS handshakes' allocations); a second batch of N
// shows what each further viewer costs, once werift has handed the connections
// over (lib/webrtc/viewerLink.ts). Usage: bun bench/viewerMemory.ts [N] [--handover=off]
import { heapStats } from "bun:jsc";
import { startTestServer } from "../tests/helpers/testServer.ts";
import { testSource } from "./sources.ts";
import { accessUnitsOf, stampedPush } from "./stampedPush.ts";

const n = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 50);
const handOver = process.argv.includes("--handover=off") ? "off" : "on";
const server = await startTestServer({ WHEP_MAX_VIEWERS: "0", WEBRTC_HANDOVER: handOver }, { listen: true });
const push = stampedPush(`${server.url}/ingest/load`, await accessUnitsOf(testSource({ gopSeconds: 2, bitrateKbps: 3000, size: "1280x720" })));
/** The allocator gives the handshakes' freed pages back to the system over some seconds. */
const SETTLE_MS = 10_000;
const batches: Array<ReturnType<typeof Bun.spawn>> = [];

interface Sample {
  rss: number;
  heap: number;
  buffers: number;
  types: Record<string, number>;
}

function sample(): Sample {
  Bun.gc(true);
  const heap = heapStats();
  return { rss: process.memoryUsage().rss, heap: heap.heapSize, buffers: heap.extraMemorySize, types: heap.objectTypeCounts };
}

/** N more viewers, once they all receive media and (with the hand-over) have left werift. */
async function addViewers(): Promise<void> {
  const load = Bun.spawn([process.execPath, new URL("./loadViewers.ts", import.meta.url).pathname, `${server.url}/whep/load`, String(n), "600"], {
    stdout: "pipe",
    stderr: "inherit",
  });
  batches.push(load);
  const reader = load.stdout.getReader();
  for (let text = ""; !text.includes("window"); ) text += new TextDecoder().decode((await reader.read()).value);
  reader.releaseLock();
  const deadline = Date.now() + 15_000;
  const settled = () => handOver === "off" || server.viewers.list().every((v) => v.handedOver);
  while (!settled() && Date.now() < deadline) await Bun.sleep(250);
  await Bun.sleep(2000); // the released connections' timers run out
}

function perViewer(from: Sample, to: Sample): string {
  const kb = (bytes: number) => `${(bytes / n / 1024).toFixed(0)} KB`;
  return `RSS ${kb(to.rss - from.rss)}, JS heap ${kb(to.heap - from.heap)}, buffers ${kb(to.buffers - from.buffers)}`;
}

function grownTypes(from: Sample, to: Sample): string {
  return Object.entries(to.types)
    .map(([type, count]) => [type, (count - (from.types[type] ?? 0)) / n] as const)
    .filter(([, perViewer]) => perViewer >= 1)
    .sort((a, b) => b[1] - a[1])
    .map(([type, perViewer]) => `${perViewer.toFixed(0)} ${type}`)
    .join(", ");
}

try {
  await Bun.sleep(2000);
  const idle = sample();
  await addViewers();
  const first = sample();
  await addViewers();
  const second = sample();
  await Bun.sleep(SETTLE_MS);
  const settled = sample();
  const handedOver = server.viewers.list().filter((v) => v.handedOver).length;
  console.log(`hand-over ${handOver}: ${server.viewers.size} viewers, ${handedOver} handed over by werift`);
  console.log(`first ${n} viewers, per viewer (with one-time costs): ${perViewer(idle, first)}`);
  console.log(`next ${n} viewers, per viewer: ${perViewer(first, second)}; ${SETTLE_MS / 1000} s later ${perViewer(first, settled)}`);
  console.log(`objects per further viewer: ${grownTypes(first, settled)}`);
} finally {
  for (const load of batches) load.kill();
  await Promise.all(batches.map((load) => load.exited));
  await push.stop();
  await server.close();
}

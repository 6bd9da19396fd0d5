// What one viewer costs in memory, by JS object type: the server in this process,
// N node-datachannel viewers in another. Usage: bun bench/viewerMemory.ts [N]
import { heapStats } from "bun:jsc";
import { startTestServer } from "../tests/helpers/testServer.ts";
import { testSource } from "./sources.ts";
import { accessUnitsOf, stampedPush } from "./stampedPush.ts";

const n = Number(process.argv[2] ?? 50);
const server = await startTestServer({ WHEP_MAX_VIEWERS: "0" }, { listen: true });
const push = stampedPush(`${server.url}/ingest/load`, await accessUnitsOf(testSource({ gopSeconds: 2, bitrateKbps: 3000, size: "1280x720" })));
await Bun.sleep(2000);
Bun.gc(true);
const before = { heap: heapStats(), rss: process.memoryUsage().rss };
const load = Bun.spawn([process.execPath, new URL("./loadViewers.ts", import.meta.url).pathname, `${server.url}/whep/load`, String(n), "5"], { stdout: "pipe", stderr: "inherit" });
try {
  const reader = load.stdout.getReader();
  for (let text = ""; !text.includes("window"); ) text += new TextDecoder().decode((await reader.read()).value);
  Bun.gc(true);
  const after = { heap: heapStats(), rss: process.memoryUsage().rss };
  const perViewerKb = (bytes: number) => (bytes / n / 1024).toFixed(0);
  console.log(`${n} viewers, per viewer: RSS ${perViewerKb(after.rss - before.rss)} KB, JS heap ${perViewerKb(after.heap.heapSize - before.heap.heapSize)} KB, buffers ${perViewerKb(after.heap.extraMemorySize - before.heap.extraMemorySize)} KB`);
  const grown = Object.entries(after.heap.objectTypeCounts)
    .map(([type, count]) => [type, (count - (before.heap.objectTypeCounts[type] ?? 0)) / n] as const)
    .filter(([, perViewer]) => perViewer >= 1)
    .sort((a, b) => b[1] - a[1]);
  console.log(grown.map(([type, perViewer]) => `${perViewer.toFixed(0)} ${type}`).join(", "));
} finally {
  load.kill();
  await load.exited;
  await push.stop();
  await server.close();
}

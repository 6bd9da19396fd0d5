// Fan-out cost: one ~3 Mbit/s stream, N load viewers; server CPU per packet per
// viewer from /proc, RSS per viewer, loss, and the delay the server adds (MPEG-TS
// written -> RTP received). With --baseline the same server sends through
// werift's own path (bench/lib/benchServer.ts --werift-send-path, a socket per
// connection); --packet-sealing seals SRTP packet by packet (the path before
// a frame per native call).
// --pin puts the server on CPU 0 and everything else (load clients, the pusher)
// on CPU 1 (taskset), so the server's figure is not the clients' contention;
// the clients need ~55% of a core at N=100, more than one core at 200.
// --bounded-pes writes video PES lengths (ffmpeg's -omit_video_pes_length 0):
// without them a picture whose PES ends exactly at a TS packet boundary is
// known to be complete only when the next one starts, a frame interval later.
// The delay probe is one node-datachannel viewer (bench/clients/loadViewers.ts); the other
// N-1 are werift-handshaken viewers that count RTP headers and authenticate a
// sample (bench/clients/headerLoadViewers.ts), about half of node-datachannel's CPU per packet,
// so that 200 of them leave the server its share of this 2-core machine.
// --ndc-load makes them node-datachannel viewers too (decrypting everything).
// Usage: bun run bench fanout [--baseline] [--packet-sealing] [--pin] [--bounded-pes] [--ndc-load] [N... = 1 50 100 200]
import { printFigureLine } from "./lib/figureLine.ts";
import type { LoadReport } from "./lib/loadWindow.ts";
import { cpuSeconds, cpuTimes, rssMb } from "./lib/procStats.ts";
import { testSource } from "./lib/sources.ts";
import { accessUnitsOf, stampedPush } from "./lib/stampedPush.ts";
import { streamLines } from "./lib/streamLines.ts";
import { waitForHttp } from "./lib/waitForHttp.ts";

const WINDOW_S = 10;

export interface FanoutResult {
  path: "direct" | "werift";
  viewers: number;
  usPerPacketPerViewer: number;
  cpuPercent: number;
  /** (RSS - RSS before the first round) / N: one-time costs (code, the handshakes' high-water mark) included. */
  rssPerViewerMb: number;
  /** The server's RSS at the window's end, MB. */
  rssMb: number;
  /**
   * (RSS - the previous, smaller round's RSS) / the viewers added: what each
   * further viewer costs once the one-time costs are paid. Undefined in the first round.
   */
  rssPerFurtherViewerMb?: number;
  packetsPerViewerPerSecond: number;
  lossPercent: number;
  viewersPerCoreAt3Mbps: number;
  /** Viewers that never received media within 20 s of their POST. */
  starved: number;
  /** Packets received / packets the stream produced x viewers, in %: below 100 when the server falls behind. */
  deliveredPercent: number;
  /** Frames skipped by viewers' queues in the window (server behind). */
  droppedFrames: number;
  /** MPEG-TS picture written -> its last RTP packet received, ms. */
  delayP50Ms: number;
  delayP99Ms: number;
  /** Sampled load packets decrypted and authenticated, and those that failed (bench/clients/headerLoadViewers.ts). */
  sampledPackets: number;
  badAuth: number;
  /** CPU of the load-client process (it shares the machine's cores with the server). */
  clientCpuPercent: number;
  /** Share of the server's CPU spent in the kernel (UDP sends, on loopback including delivery to the receivers). */
  kernelPercent: number;
  /** Datagrams per kernel message in the window (UDP GSO runs), from /api/udp; undefined without the mux. */
  datagramsPerMessage: number | undefined;
}

/** The mux's send counters, or undefined without one (the baseline's socket per connection). */
async function udpFigures(base: string): Promise<{ datagramsSent: number; messagesSent: number } | undefined> {
  const response = await fetch(`${base}/api/udp`);
  return response.ok ? ((await response.json()) as { datagramsSent: number; messagesSent: number }) : undefined;
}

/** The server's figures for the stream, from /api/streams. */
interface StreamFigures {
  packetsOut: number;
  viewerDroppedFrames: number;
}

async function lines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void | Promise<void>,
): Promise<void> {
  for await (const line of streamLines(stream)) await onLine(line);
}

/** The product as shipped (main.ts), or the bench server with the slower path asked for. */
function serverCommand(options: FanoutOptions): string[] {
  const benchServer = new URL("./lib/benchServer.ts", import.meta.url).pathname;
  if (options.baseline) return [benchServer, "--werift-send-path"];
  if (options.packetSealing) return [benchServer, "--packet-sealing"];
  return ["main.ts"];
}

/** With --pin: the command run on one CPU, by taskset (util-linux). */
function onCpu(cpu: number | undefined, command: string[]): string[] {
  return cpu === undefined ? command : ["taskset", "-c", String(cpu), ...command];
}

export interface FanoutOptions {
  baseline?: boolean;
  /** SRTP sealed packet by packet from JS (bench/lib/benchServer.ts --packet-sealing). */
  packetSealing?: boolean;
  pin?: boolean;
  boundedPes?: boolean;
  /** Load viewers on node-datachannel (decrypting every packet) instead of bench/clients/headerLoadViewers.ts. */
  ndcLoad?: boolean;
}

export async function measureFanout(counts: number[], options: FanoutOptions = {}): Promise<FanoutResult[]> {
  if (options.pin) Bun.spawnSync(["taskset", "-a", "-p", "-c", "1", String(process.pid)], { stdout: "ignore" });
  const path = options.baseline ? "werift" : "direct";
  const port = 18000 + Math.floor(Math.random() * 1000);
  const base = `http://127.0.0.1:${port}`;
  const baselineEnv = options.baseline ? { WEBRTC_UDP_ADDR: "off" } : { WEBRTC_UDP_ADDR: "127.0.0.1:0" };
  const server = Bun.spawn(onCpu(options.pin ? 0 : undefined, [process.execPath, ...serverCommand(options)]), {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      WHEP_MAX_VIEWERS: "0",
      LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
      ...baselineEnv,
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const units = await accessUnitsOf(testSource({ gopSeconds: 2, bitrateKbps: 3000, size: "1280x720" }));
  await waitForHttp(`${base}/healthz`);
  const push = stampedPush(`${base}/ingest/load`, units, { boundedVideoPes: options.boundedPes });
  const results: FanoutResult[] = [];
  try {
    await Bun.sleep(1500);
    const idleRss = rssMb(server.pid);
    for (const n of counts) {
      console.error(`fanout (${path}): ${n} viewers…`);
      const clientCpu = options.pin ? 1 : undefined;
      const result: FanoutResult = {
        path,
        ...(await measureOnce(n, base, server.pid, idleRss, path === "direct", {
          cpu: clientCpu,
          ndc: options.ndcLoad,
        })),
      };
      const previous = results.at(-1);
      if (previous && previous.viewers < n) {
        result.rssPerFurtherViewerMb = (result.rssMb - previous.rssMb) / (n - previous.viewers);
      }
      results.push(result);
      console.error(formatFanout(results.at(-1)!));
    }
  } finally {
    await Promise.race([push.stop(), Bun.sleep(2000)]);
    server.kill("SIGTERM");
    await server.exited;
  }
  return results;
}

/**
 * Waits (up to 15 s) for the steady state: werift has handed every viewer
 * over (lib/werift/viewerHandshake.ts, 4 s after connecting at the latest for these
 * clients, which send no RTCP) and the viewers' queues hold no backlog from
 * the joins (200 DTLS handshakes on 2 cores leave the server behind for a
 * while), so the window measures neither the hand-over nor the catching up.
 */
async function steadyState(base: string, n: number, handOver: boolean): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const figures = (await (await fetch(`${base}/api/streams/load`)).json()) as {
      viewersHandedOver: number;
      viewerQueuedFrames: number;
    };
    if ((!handOver || figures.viewersHandedOver >= n) && figures.viewerQueuedFrames <= 2 * n) return;
    await Bun.sleep(250);
  }
}

async function streamFigures(base: string): Promise<StreamFigures> {
  return (await fetch(`${base}/api/streams/load`)).json() as Promise<StreamFigures>;
}

type ClientReport = LoadReport & {
  delay?: { pictures: number; p50: number; p99: number };
  checked?: number;
  badAuth?: number;
};

/** Load viewers per client process: one JS thread counts ~40k packets/s (100 viewers of 3 Mbit/s) without falling behind. */
const VIEWERS_PER_CLIENT = 100;

interface ClientOptions {
  /** The one CPU the client runs on (--pin), else undefined. */
  cpu: number | undefined;
  /** node-datachannel viewers (the probe always is one). */
  ndc?: boolean;
}

type LoadClient = ReturnType<typeof loadClient>;

function loadClient(base: string, n: number, options: ClientOptions) {
  const script = options.ndc ? "./clients/loadViewers.ts" : "./clients/headerLoadViewers.ts";
  const args = [
    ...onCpu(options.cpu, [process.execPath]),
    new URL(script, import.meta.url).pathname,
    `${base}/whep/load`,
    String(n),
    String(WINDOW_S),
    "--go-on-stdin",
  ];
  return Bun.spawn(args, { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
}

/**
 * N-1 load viewers in processes of up to VIEWERS_PER_CLIENT, then one probe
 * viewer in its own, lightly loaded process (its clock readings are trusted
 * for the delay); the window opens for all when all are receiving and the
 * probe's pictures arrive live.
 */
async function measureOnce(
  n: number,
  base: string,
  pid: number,
  idleRss: number,
  handOver: boolean,
  client: ClientOptions,
): Promise<Omit<FanoutResult, "path">> {
  const loads: LoadClient[] = [];
  for (let left = n - 1; left > 0; left -= VIEWERS_PER_CLIENT) {
    loads.push(loadClient(base, Math.min(left, VIEWERS_PER_CLIENT), client));
  }
  const clients = [...loads];
  const cpu = { server: 0, client: 0, system: 0 };
  let rss = 0;
  let before: StreamFigures | undefined;
  let after: StreamFigures | undefined;
  let udpBefore: Awaited<ReturnType<typeof udpFigures>>;
  let udpAfter: Awaited<ReturnType<typeof udpFigures>>;
  const reports: ClientReport[] = [];
  let probeReport: ClientReport | undefined;
  const tell = (line: string) => {
    for (const c of clients) {
      c.stdin.write(`${line}\n`);
      c.stdin.flush();
    }
  };
  const openWindow = async () => {
    await steadyState(base, n, handOver);
    [cpu.server, cpu.system] = [cpuSeconds(pid), cpuTimes(pid).system];
    tell("go");
    before = await streamFigures(base);
    udpBefore = await udpFigures(base);
  };
  const onReport = async (line: string, fromProbe: boolean) => {
    const report = JSON.parse(line) as ClientReport;
    reports.push(report);
    if (fromProbe) probeReport = report;
    if (reports.length < clients.length) return;
    [cpu.server, cpu.system] = [cpuSeconds(pid) - cpu.server, cpuTimes(pid).system - cpu.system];
    cpu.client = reports.reduce((sum, r) => sum + r.cpuSeconds, 0);
    rss = rssMb(pid);
    after = await streamFigures(base);
    udpAfter = await udpFigures(base);
    tell("done"); // now the clients end their sessions
  };
  // The probe joins last, when every load viewer receives, and says "ready"
  // once its pictures arrive live: the window opens on the steady state.
  let loadsReady = 0;
  let allLoadsReady!: () => void;
  const loadsAreReady = new Promise<void>((resolve) => (allLoadsReady = resolve));
  if (loads.length === 0) allLoadsReady();
  const follow = (c: LoadClient, isProbe: boolean) =>
    lines(c.stdout, async (line) => {
      if (line === "ready") {
        if (isProbe) await openWindow();
        else if (++loadsReady === loads.length) allLoadsReady();
      } else if (line.startsWith("{")) await onReport(line, isProbe);
    });
  const following = loads.map((c) => follow(c, false));
  await Promise.race([loadsAreReady, Promise.any(following)]); // or a load client ended early: reported below
  const probe = loadClient(base, 1, { cpu: client.cpu, ndc: true });
  clients.push(probe);
  await Promise.all([...following, follow(probe, true)]);
  const exits = await Promise.all(clients.map((c) => c.exited));
  if (exits.some((code) => code !== 0) || !before || !after || !probeReport?.delay) {
    throw new Error(`load clients with ${n} viewers failed`);
  }
  const report = {
    starved: reports.reduce((a, r) => a + r.starved, 0),
    packets: reports.flatMap((r) => r.packets),
    lost: reports.flatMap((r) => r.lost),
    delay: probeReport.delay,
    checked: reports.reduce((a, r) => a + (r.checked ?? 0), 0),
    badAuth: reports.reduce((a, r) => a + (r.badAuth ?? 0), 0),
  };
  await Bun.sleep(1000); // let DELETEs settle before the next round
  const packets = report.packets.reduce((a, b) => a + b, 0);
  const lost = report.lost.reduce((a, b) => a + b, 0);
  const perViewerPps = packets / n / WINDOW_S;
  const usPerPacket = (cpu.server * 1e6) / packets;
  const produced = after.packetsOut - before.packetsOut;
  return {
    viewers: n,
    usPerPacketPerViewer: usPerPacket,
    cpuPercent: (cpu.server / WINDOW_S) * 100,
    rssPerViewerMb: (rss - idleRss) / n,
    rssMb: rss,
    packetsPerViewerPerSecond: perViewerPps,
    lossPercent: (lost / Math.max(1, packets + lost)) * 100,
    viewersPerCoreAt3Mbps: 1e6 / (usPerPacket * perViewerPps),
    starved: report.starved,
    deliveredPercent: (packets / Math.max(1, produced * n)) * 100,
    droppedFrames: after.viewerDroppedFrames - before.viewerDroppedFrames,
    delayP50Ms: report.delay.p50,
    delayP99Ms: report.delay.p99,
    sampledPackets: report.checked,
    badAuth: report.badAuth,
    clientCpuPercent: (cpu.client / WINDOW_S) * 100,
    kernelPercent: (cpu.system / Math.max(cpu.server, 1e-9)) * 100,
    datagramsPerMessage: udpBefore && udpAfter
      ? (udpAfter.datagramsSent - udpBefore.datagramsSent) / Math.max(1, udpAfter.messagesSent - udpBefore.messagesSent)
      : undefined,
  };
}

export function formatFanout(r: FanoutResult): string {
  return (
    `fanout ${r.path.padEnd(6)} N=${String(r.viewers).padStart(3)}: ${
      r.usPerPacketPerViewer.toFixed(2)
    } us/packet/viewer, server CPU ${r.cpuPercent.toFixed(0)}% (${r.kernelPercent.toFixed(0)}% in the kernel), ` +
    `${r.packetsPerViewerPerSecond.toFixed(0)} pkt/s/viewer, delivered ${r.deliveredPercent.toFixed(1)}%, seq loss ${
      r.lossPercent.toFixed(3)
    }%, ` +
    `queue drops ${r.droppedFrames} frames, added delay p50 ${r.delayP50Ms.toFixed(1)} ms p99 ${
      r.delayP99Ms.toFixed(1)
    } ms, ` +
    `RSS ${r.rssPerViewerMb.toFixed(2)} MB/viewer` +
    (r.rssPerFurtherViewerMb !== undefined ? ` (${r.rssPerFurtherViewerMb.toFixed(2)} MB per further viewer)` : "") +
    `, ~${r.viewersPerCoreAt3Mbps.toFixed(0)} viewers/core, client CPU ${r.clientCpuPercent.toFixed(0)}%` +
    (r.datagramsPerMessage !== undefined ? `, ${r.datagramsPerMessage.toFixed(1)} datagrams per kernel message` : "") +
    (r.sampledPackets ? `, ${r.badAuth} of ${r.sampledPackets} sampled packets failed SRTP authentication` : "") +
    (r.starved ? `, ${r.starved} viewers got no media` : "")
  );
}

export async function main(args: string[]): Promise<void> {
  const counts = args.filter((a) => !a.startsWith("--")).map(Number);
  const options = {
    baseline: args.includes("--baseline"),
    packetSealing: args.includes("--packet-sealing"),
    pin: args.includes("--pin"),
    boundedPes: args.includes("--bounded-pes"),
    ndcLoad: args.includes("--ndc-load"),
  };
  const results = await measureFanout(counts.length ? counts : [1, 50, 100, 200], options);
  for (const r of results) console.log(`${options.boundedPes ? "with video PES lengths: " : ""}${formatFanout(r)}`);
  printFigureLine("fanout", args, results);
}

if (import.meta.main) await main(process.argv.slice(2));

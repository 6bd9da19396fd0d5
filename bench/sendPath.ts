// The floor of the per-viewer work: SRTP (AES-GCM) into the mux's batch and the
// batched send, with nothing else (no werift, no RTCP, no scheduler, no WebRTC
// client decrypting on the same cores). N destinations are plain UDP sockets in
// another process that only count; the server-side cost is this process's CPU.
// Compares the shipped path (a frame per native call, sendmmsg/GSO) with
// libcrypto per packet from JS, node:crypto and Bun's sendMany, so the gain of
// each part shows in one run.
// On loopback the kernel time includes delivering into the sinks' sockets, which a
// NIC would not charge to the server: --to=HOST sends to HOST instead, with no
// sinks, e.g. an address behind a veth pair whose far end drops what it gets
// (as root: ip link add wispv0 type veth peer name wispv1; ip addr add 10.77.0.1/24
// dev wispv0; ip link set wispv0 up; ip link set wispv1 up; ip neigh replace
// 10.77.0.2 lladdr 02:00:00:00:00:02 dev wispv0; then --to=10.77.0.2).
// Usage: bun run bench sendPath [viewers = 100] [seconds = 8] [--to=HOST]
import { randomBytes } from "node:crypto";
import type { AesGcmBackend } from "../lib/srtp/aesGcm.ts";
import { SrtpEncryptor } from "../lib/srtp/srtpEncryptor.ts";
import { sealableFrame, sealFrame } from "../lib/srtp/srtpFrameSealer.ts";
import { silentLogger } from "../lib/logger.ts";
import { UdpMux } from "../lib/udp/udpMux.ts";
import { printFigureLine } from "./lib/figureLine.ts";
import { cpuTimes } from "./lib/procStats.ts";

export interface SendPathResult {
  label: string;
  viewers: number;
  packets: number;
  userUsPerPacket: number;
  kernelUsPerPacket: number;
  /** Datagrams the sinks counted / datagrams sent, %; undefined with --to (nobody counts). */
  receivedPercent: number | undefined;
  datagramsPerMessage: number;
}

/** A 3 Mbit/s, 30 fps picture as the packetizer cuts it: 10 FU-A fragments of one size and a shorter last. */
const VIDEO_FRAME = [...new Array(10).fill(1172), 600];
/** An Opus packet of 20 ms at 64 kbit/s. */
const AUDIO_PACKET = [160];
const FRAME_INTERVAL_MS = 1000 / 30;

/** Runs the sink process; resolves with its ports and a counter read. */
async function startSinks(count: number) {
  const script = `
    let received = 0; const ports = [];
    for (let i = 0; i < ${count}; i++) ports.push((await Bun.udpSocket({ hostname: "127.0.0.1", port: 0, socket: { data() { received++; } } })).port);
    console.log(JSON.stringify(ports));
    for await (const _ of console) console.log(received);`;
  const proc = Bun.spawn([process.execPath, "-e", script], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  const reader = proc.stdout.getReader();
  const decoder = new TextDecoder();
  const readLine = async () => decoder.decode((await reader.read()).value).trim();
  const ports: number[] = JSON.parse(await readLine());
  return {
    ports,
    async received(): Promise<number> {
      proc.stdin.write("count\n");
      proc.stdin.flush();
      return Number(await readLine());
    },
    stop: () => proc.kill(),
  };
}

interface Destinations {
  host: string;
  ports: number[];
  /** The sinks' count so far; undefined when nobody counts (--to). */
  received?: () => Promise<number>;
}

interface RunOptions {
  gso: boolean;
  gcm: AesGcmBackend;
  /** Each frame sealed for a viewer in one native call (srtpFrameSealer.ts), as after the hand-over. */
  nativeFrames?: boolean;
}

async function measure(label: string, to: Destinations, seconds: number, options: RunOptions): Promise<SendPathResult> {
  const { host, ports, received } = to;
  const mux = await UdpMux.open({
    port: 0,
    address: host === "127.0.0.1" ? host : "0.0.0.0",
    logger: silentLogger,
    gso: options.gso,
  });
  const viewers = ports.map((port) => ({
    port,
    srtp: new SrtpEncryptor({ profile: "AEAD_AES_128_GCM", key: randomBytes(16), salt: randomBytes(12) }, {
      gcmBackend: options.gcm,
    }),
    sequence: 0,
  }));
  const targets = viewers.map((v) => (options.nativeFrames ? v.srtp.frameSealTarget(v.port, 96) : undefined));
  const payload = randomBytes(1172);
  const sendFrame = (sizes: number[], timestamp: number, payloadType: number) => {
    if (options.nativeFrames) return sendWholeFrames(sizes, timestamp, payloadType);
    for (const v of viewers) {
      for (let i = 0; i < sizes.length; i++) {
        const body = payload.subarray(0, sizes[i]);
        const header = {
          ssrc: v.port,
          payloadType,
          sequenceNumber: v.sequence++ & 0xffff,
          timestamp,
          marker: i === sizes.length - 1,
        };
        mux.queueWith(
          v.srtp.datagramSize(body),
          [host, v.port],
          (into, at) => v.srtp.encryptInto(header, 0, body, into, at),
        );
      }
    }
    mux.flush();
  };
  /** The frame laid out once (per stream, as the server does), then one native call and one queued run per viewer. */
  const sendWholeFrames = (sizes: number[], timestamp: number, payloadType: number) => {
    const packets = sizes.map((size, i) => ({
      payload: payload.subarray(0, size),
      timestamp,
      marker: i === sizes.length - 1,
    }));
    const frame = sealableFrame(packets);
    viewers.forEach((v, i) => {
      const target = { ...targets[i]!, payloadType };
      const first = v.sequence;
      v.sequence += sizes.length;
      mux.queueRun(
        frame.datagramLengths,
        frame.datagramBytes,
        [host, v.port],
        (into, at) => sealFrame(frame, target, first, 0, into, at),
      );
    });
    mux.flush();
  };
  const receivedBefore = (await received?.()) ?? 0;
  const cpuBefore = cpuTimes(process.pid);
  const start = performance.now();
  let frames = 0;
  while (performance.now() - start < seconds * 1000) {
    sendFrame(VIDEO_FRAME, frames * 3000, 96);
    if (frames % 3 !== 2) sendFrame(AUDIO_PACKET, frames * 960, 111); // ~50 packets/s next to 30 pictures/s
    frames++;
    const due = start + frames * FRAME_INTERVAL_MS;
    await Bun.sleep(Math.max(0, due - performance.now()));
  }
  const cpuAfter = cpuTimes(process.pid);
  await Bun.sleep(200);
  const receivedCount = received ? (await received()) - receivedBefore : undefined;
  const sent = mux.stats.datagramsSent;
  await mux.close();
  return {
    label,
    viewers: ports.length,
    packets: sent,
    userUsPerPacket: ((cpuAfter.user - cpuBefore.user) * 1e6) / sent,
    kernelUsPerPacket: ((cpuAfter.system - cpuBefore.system) * 1e6) / sent,
    receivedPercent: receivedCount === undefined ? undefined : (receivedCount / sent) * 100,
    datagramsPerMessage: sent / mux.messagesSent,
  };
}

export async function measureSendPath(
  viewers = 100,
  seconds = 8,
  options: { to?: string } = {},
): Promise<SendPathResult[]> {
  const sinks = options.to ? undefined : await startSinks(viewers);
  const to: Destinations = sinks
    ? { host: "127.0.0.1", ports: sinks.ports, received: sinks.received }
    : { host: options.to!, ports: Array.from({ length: viewers }, (_, i) => 40_000 + i) };
  try {
    const runs: Array<[string, RunOptions]> = [
      ["native frames + sendmmsg/GSO (shipped)", { gso: true, gcm: "libcrypto", nativeFrames: true }],
      ["libcrypto per packet + sendmmsg/GSO", { gso: true, gcm: "libcrypto" }],
      ["libcrypto + Bun sendMany", { gso: false, gcm: "libcrypto" }],
      ["node:crypto + Bun sendMany", { gso: false, gcm: "node:crypto" }],
    ];
    const results: SendPathResult[] = [];
    for (const [label, runOptions] of runs) results.push(await measure(label, to, seconds, runOptions));
    return results;
  } finally {
    sinks?.stop();
  }
}

export function formatSendPath(r: SendPathResult): string {
  const total = r.userUsPerPacket + r.kernelUsPerPacket;
  return (
    `send path ${r.label.padEnd(40)} N=${r.viewers}: ${total.toFixed(2)} us/packet/viewer (user ${
      r.userUsPerPacket.toFixed(2)
    }, kernel ${r.kernelUsPerPacket.toFixed(2)}), ` +
    `${r.datagramsPerMessage.toFixed(1)} datagrams per kernel message, ` +
    (r.receivedPercent === undefined ? "no sinks (--to)" : `sinks received ${r.receivedPercent.toFixed(1)}%`)
  );
}

export async function main(args: string[]): Promise<void> {
  const to = args.find((a) => a.startsWith("--to="))?.slice("--to=".length);
  const [viewers = "100", seconds = "8"] = args.filter((a) => !a.startsWith("--"));
  const results = await measureSendPath(Number(viewers), Number(seconds), { to });
  for (const r of results) console.log(formatSendPath(r));
  printFigureLine("sendPath", args, results);
}

if (import.meta.main) await main(process.argv.slice(2));

// The floor of the per-viewer work: SRTP (AES-GCM) into the mux's batch and the
// batched send, with nothing else (no werift, no RTCP, no scheduler, no WebRTC
// client decrypting on the same cores). N destinations are plain UDP sockets in
// another process that only count; the server-side cost is this process's CPU.
// Compares the shipped path (libcrypto + sendmmsg/GSO) with node:crypto and
// Bun's sendMany, so the gain of each part shows in one run.
// Usage: bun bench/sendPath.ts [viewers] [seconds]
import { randomBytes } from "node:crypto";
import type { AesGcmBackend } from "../lib/rtp/aesGcm.ts";
import { SrtpEncryptor } from "../lib/rtp/srtpEncryptor.ts";
import { silentLogger } from "../lib/logger.ts";
import { UdpMux } from "../lib/webrtc/udpMux.ts";
import { cpuTimes } from "./procStats.ts";

export interface SendPathResult {
  label: string;
  viewers: number;
  packets: number;
  userUsPerPacket: number;
  kernelUsPerPacket: number;
  /** Datagrams the sinks counted / datagrams sent, %. */
  receivedPercent: number;
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

async function measure(label: string, ports: number[], seconds: number, options: { gso: boolean; gcm: AesGcmBackend }, received: () => Promise<number>): Promise<SendPathResult> {
  const mux = await UdpMux.open({ port: 0, address: "127.0.0.1", logger: silentLogger, gso: options.gso });
  const viewers = ports.map((port) => ({
    port,
    srtp: new SrtpEncryptor({ profile: "AEAD_AES_128_GCM", key: randomBytes(16), salt: randomBytes(12) }, { gcmBackend: options.gcm }),
    sequence: 0,
  }));
  const payload = randomBytes(1172);
  const sendFrame = (sizes: number[], timestamp: number, payloadType: number) => {
    for (const v of viewers) {
      for (let i = 0; i < sizes.length; i++) {
        const body = payload.subarray(0, sizes[i]);
        const header = { ssrc: v.port, payloadType, sequenceNumber: v.sequence++ & 0xffff, timestamp, marker: i === sizes.length - 1 };
        mux.queueWith(v.srtp.datagramSize(body), ["127.0.0.1", v.port], (into, at) => v.srtp.encryptInto(header, 0, body, into, at));
      }
    }
    mux.flush();
  };
  const receivedBefore = await received();
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
  const receivedCount = (await received()) - receivedBefore;
  const sent = mux.stats.datagramsSent;
  await mux.close();
  return {
    label,
    viewers: ports.length,
    packets: sent,
    userUsPerPacket: ((cpuAfter.user - cpuBefore.user) * 1e6) / sent,
    kernelUsPerPacket: ((cpuAfter.system - cpuBefore.system) * 1e6) / sent,
    receivedPercent: (receivedCount / sent) * 100,
    datagramsPerMessage: sent / mux.messagesSent,
  };
}

export async function measureSendPath(viewers = 100, seconds = 8): Promise<SendPathResult[]> {
  const sinks = await startSinks(viewers);
  try {
    const runs: Array<[string, { gso: boolean; gcm: AesGcmBackend }]> = [
      ["libcrypto + sendmmsg/GSO (shipped)", { gso: true, gcm: "libcrypto" }],
      ["libcrypto + Bun sendMany", { gso: false, gcm: "libcrypto" }],
      ["node:crypto + Bun sendMany", { gso: false, gcm: "node:crypto" }],
    ];
    const results: SendPathResult[] = [];
    for (const [label, options] of runs) results.push(await measure(label, sinks.ports, seconds, options, sinks.received));
    return results;
  } finally {
    sinks.stop();
  }
}

export function formatSendPath(r: SendPathResult): string {
  const total = r.userUsPerPacket + r.kernelUsPerPacket;
  return (
    `send path ${r.label.padEnd(34)} N=${r.viewers}: ${total.toFixed(2)} us/packet/viewer (user ${r.userUsPerPacket.toFixed(2)}, kernel ${r.kernelUsPerPacket.toFixed(2)}), ` +
    `${r.datagramsPerMessage.toFixed(1)} datagrams per kernel message, sinks received ${r.receivedPercent.toFixed(1)}%`
  );
}

if (import.meta.main) {
  const [viewers = "100", seconds = "8"] = process.argv.slice(2);
  for (const r of await measureSendPath(Number(viewers), Number(seconds))) console.log(formatSendPath(r));
}

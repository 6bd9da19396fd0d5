// N cheap WHEP viewers (node-datachannel: native, decrypts RTP, no decoding) for
// load measurements. Usage: bun bench/loadViewers.ts <whep url> <N> <windowSeconds> [--go-on-stdin]
// Prints "ready" when all receive media, "window" when the measured window starts
// (2 s later, or when a line arrives on stdin with --go-on-stdin), then one JSON
// line of per-viewer packet counts and losses and the pictures' added delay,
// DELETEs its sessions and exits. The delay is taken in this process's JS thread:
// trust it from a lightly loaded process (one probe viewer), not from 200 viewers.
import nodeDataChannel from "node-datachannel";
import { percentile, wallClockMs } from "./sources.ts";
import { readClockSei } from "./stampedPush.ts";

interface Viewer {
  pc: InstanceType<typeof nodeDataChannel.PeerConnection>;
  tracks: Array<ReturnType<InstanceType<typeof nodeDataChannel.PeerConnection>["addTrack"]>>;
  location?: string;
  packets: number;
  lost: number;
  lastSeq: Map<number, number>;
  /** RTP timestamp of a picture -> when the pusher wrote it (from its clock SEI). */
  written: Map<number, number>;
}

const VIDEO_PAYLOAD_TYPE = 96;
const RTP_MARKER = 0x80;
const NAL_STAP_A = 24; // RFC 6184 5.7.1
/** Added delay of every picture received in the window: marker packet arrival - time its MPEG-TS was written, ms. */
const delays: number[] = [];
let measuring = false;

const [url, countArg = "10", windowArg = "10"] = process.argv.slice(2);
if (!url) throw new Error("usage: loadViewers.ts <whep url> <N> <windowSeconds>");

function countPacket(viewer: Viewer, msg: Buffer): void {
  if (msg.length < 12 || (msg[1]! & 0x7f) >= 72 && (msg[1]! & 0x7f) <= 79) return; // RTCP
  const ssrc = msg.readUInt32BE(8);
  const seq = msg.readUInt16BE(2);
  const last = viewer.lastSeq.get(ssrc);
  if (last !== undefined) {
    const gap = (seq - last - 1 + 0x10000) & 0xffff;
    if (gap > 0 && gap < 0x8000) viewer.lost += gap; // a larger "gap" is a reordered, older packet
  }
  viewer.lastSeq.set(ssrc, seq);
  viewer.packets++;
  if ((msg[1]! & 0x7f) === VIDEO_PAYLOAD_TYPE) notePicture(viewer, msg);
}

/** Remembers clock SEIs and, at a picture's last packet, how late it is. */
function notePicture(viewer: Viewer, msg: Buffer): void {
  const timestamp = msg.readUInt32BE(4);
  const payload = msg.subarray(rtpHeaderSize(msg));
  for (const nal of nalUnits(payload)) {
    const written = readClockSei(nal);
    if (written !== undefined) viewer.written.set(timestamp, written);
  }
  if ((msg[1]! & RTP_MARKER) === 0) return;
  const written = viewer.written.get(timestamp);
  viewer.written.delete(timestamp);
  if (written !== undefined && measuring) delays.push(wallClockMs() - written);
}

/** RFC 3550 5.1: fixed header, CSRCs, header extension. */
function rtpHeaderSize(msg: Buffer): number {
  let size = 12 + 4 * (msg[0]! & 0x0f);
  if (msg[0]! & 0x10) size += 4 + 4 * msg.readUInt16BE(size + 2);
  return size;
}

/** The NAL units of a single-NAL or STAP-A payload (FU-A fragments carry no SEI). */
function nalUnits(payload: Buffer): Buffer[] {
  if ((payload[0]! & 0x1f) !== NAL_STAP_A) return [payload];
  const out: Buffer[] = [];
  for (let at = 1; at + 2 <= payload.length; ) {
    const size = payload.readUInt16BE(at);
    out.push(payload.subarray(at + 2, at + 2 + size));
    at += 2 + size;
  }
  return out;
}

async function connect(): Promise<Viewer> {
  const pc = new nodeDataChannel.PeerConnection("load", { iceServers: [] });
  const viewer: Viewer = { pc, tracks: [], packets: 0, lost: 0, lastSeq: new Map(), written: new Map() };
  const video = new nodeDataChannel.Video("0", "RecvOnly");
  video.addH264Codec(96);
  const audio = new nodeDataChannel.Audio("1", "RecvOnly");
  audio.addOpusCodec(111);
  viewer.tracks = [pc.addTrack(video), pc.addTrack(audio)]; // held: a collected track stops calling back
  for (const track of viewer.tracks) track.onMessage((msg) => countPacket(viewer, msg as Buffer));
  const gathered = new Promise<void>((resolve) => pc.onGatheringStateChange((s) => s === "complete" && resolve()));
  pc.setLocalDescription();
  await gathered;
  const response = await fetch(url!, { method: "POST", headers: { "Content-Type": "application/sdp" }, body: pc.localDescription()!.sdp });
  if (response.status !== 201) throw new Error(`POST ${response.status}: ${await response.text()}`);
  viewer.location = new URL(response.headers.get("Location")!, url).href;
  pc.setRemoteDescription(await response.text(), "answer");
  return viewer;
}

const viewers: Viewer[] = [];
for (let i = 0; i < Number(countArg); i++) viewers.push(await connect()); // one at a time, like arriving users
const deadline = Date.now() + 20_000;
while (viewers.some((v) => v.packets < 50) && Date.now() < deadline) await Bun.sleep(100);
const starved = viewers.filter((v) => v.packets < 50).length; // reported, not hidden
console.log("ready");
if (process.argv.includes("--go-on-stdin")) await Bun.stdin.stream().getReader().read();
else await Bun.sleep(2000);
for (const v of viewers) [v.packets, v.lost] = [0, 0];
console.log("window");
measuring = true;
const cpuAtStart = process.cpuUsage();
await Bun.sleep(Number(windowArg) * 1000);
measuring = false;
const cpu = process.cpuUsage(cpuAtStart);
const packets = viewers.map((v) => v.packets);
const lost = viewers.map((v) => v.lost);
const delay = { pictures: delays.length, p50: percentile(delays, 50), p99: percentile(delays, 99), max: Math.max(...delays) };
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
console.log(JSON.stringify({ viewers: viewers.length, starved, packets, lost, delay, cpuSeconds }));
await Promise.all(viewers.map((v) => (v.location ? fetch(v.location, { method: "DELETE" }).catch(() => {}) : undefined)));
for (const v of viewers) v.pc.close();
nodeDataChannel.cleanup();
process.exit(0);

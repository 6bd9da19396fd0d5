// N cheap WHEP viewers (node-datachannel: native, decrypts RTP, no decoding) for
// load measurements. Usage: bun bench/loadViewers.ts <whep url> <N> <windowSeconds>
// Prints "ready" when all receive media, "window" when the measured window starts,
// then one JSON line of per-viewer packet counts and losses, DELETEs its sessions and exits.
import nodeDataChannel from "node-datachannel";

interface Viewer {
  pc: InstanceType<typeof nodeDataChannel.PeerConnection>;
  tracks: Array<ReturnType<InstanceType<typeof nodeDataChannel.PeerConnection>["addTrack"]>>;
  location?: string;
  packets: number;
  lost: number;
  lastSeq: Map<number, number>;
}

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
}

async function connect(): Promise<Viewer> {
  const pc = new nodeDataChannel.PeerConnection("load", { iceServers: [] });
  const viewer: Viewer = { pc, tracks: [], packets: 0, lost: 0, lastSeq: new Map() };
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
await Bun.sleep(2000);
for (const v of viewers) [v.packets, v.lost] = [0, 0];
console.log("window");
await Bun.sleep(Number(windowArg) * 1000);
const packets = viewers.map((v) => v.packets);
const lost = viewers.map((v) => v.lost);
console.log(JSON.stringify({ viewers: viewers.length, starved, packets, lost }));
await Promise.all(viewers.map((v) => (v.location ? fetch(v.location, { method: "DELETE" }).catch(() => {}) : undefined)));
for (const v of viewers) v.pc.close();
nodeDataChannel.cleanup();
process.exit(0);

// N WHEP viewers on node-datachannel (native; decrypts every RTP packet, no
// decoding). bench/fanout.ts runs one as its delay probe: its JS thread reads each
// picture's clock SEI. Usage: bun bench/clients/loadViewers.ts <whep url> <N> <windowSeconds> [--go-on-stdin]
// Prints what bench/lib/loadWindow.ts says, with the pictures' added delay in the report,
// DELETEs its sessions and exits. The delay is taken in this process's JS thread:
// trust it from a lightly loaded process (one probe viewer), not from 200 viewers.
import nodeDataChannel from "node-datachannel";
import { postOffer, runLoadViewers } from "../lib/loadWindow.ts";
import { isRtp, RtpSequenceCount } from "../lib/rtpSequenceCount.ts";
import { percentile, wallClockMs } from "../lib/sources.ts";
import { readClockSei } from "../lib/stampedPush.ts";

interface Viewer {
  pc: InstanceType<typeof nodeDataChannel.PeerConnection>;
  tracks: Array<ReturnType<InstanceType<typeof nodeDataChannel.PeerConnection>["addTrack"]>>;
  location?: string;
  count: RtpSequenceCount;
  /** RTP timestamp of a picture -> when the pusher wrote it (from its clock SEI). */
  written: Map<number, number>;
}

const VIDEO_PAYLOAD_TYPE = 96;
const RTP_MARKER = 0x80;
const NAL_STAP_A = 24; // RFC 6184 5.7.1
/** Added delay of every picture received in the window: marker packet arrival - time its MPEG-TS was written, ms. */
const delays: number[] = [];
let measuring = false;
/** The last picture's added delay, ms, in or out of the window. */
let lastDelay = Infinity;
/**
 * Settled: the pictures arrive this close to live. Joins (200 DTLS handshakes
 * on 2 cores) can leave the server seconds behind; the window measures the
 * steady state after it has caught up, not the catching up.
 */
const SETTLED_DELAY_MS = 200;

const [url, countArg = "10", windowArg = "10"] = process.argv.slice(2);
if (!url) throw new Error("usage: loadViewers.ts <whep url> <N> <windowSeconds>");

function onPacket(viewer: Viewer, msg: Buffer): void {
  if (!isRtp(msg)) return;
  viewer.count.count(msg);
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
  if (written === undefined) return;
  lastDelay = wallClockMs() - written;
  if (measuring) delays.push(lastDelay);
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
  for (let at = 1; at + 2 <= payload.length;) {
    const size = payload.readUInt16BE(at);
    out.push(payload.subarray(at + 2, at + 2 + size));
    at += 2 + size;
  }
  return out;
}

async function connect(): Promise<Viewer> {
  const pc = new nodeDataChannel.PeerConnection("load", { iceServers: [] });
  const viewer: Viewer = { pc, tracks: [], count: new RtpSequenceCount(), written: new Map() };
  const video = new nodeDataChannel.Video("0", "RecvOnly");
  video.addH264Codec(96);
  const audio = new nodeDataChannel.Audio("1", "RecvOnly");
  audio.addOpusCodec(111);
  viewer.tracks = [pc.addTrack(video), pc.addTrack(audio)]; // held: a collected track stops calling back
  for (const track of viewer.tracks) track.onMessage((msg) => onPacket(viewer, msg as Buffer));
  const gathered = new Promise<void>((resolve) => pc.onGatheringStateChange((s) => s === "complete" && resolve()));
  pc.setLocalDescription();
  await gathered;
  const { answer, location } = await postOffer(url!, pc.localDescription()!.sdp);
  viewer.location = location;
  pc.setRemoteDescription(answer, "answer");
  return viewer;
}

const viewers = await runLoadViewers(Number(countArg), Number(windowArg), connect, {
  settled: () => lastDelay < SETTLED_DELAY_MS,
  onWindow: (open) => (measuring = open),
  extra: () => ({
    delay: {
      pictures: delays.length,
      p50: percentile(delays, 50),
      p99: percentile(delays, 99),
      max: Math.max(...delays),
    },
  }),
});
for (const v of viewers) v.pc.close();
nodeDataChannel.cleanup();
process.exit(0);

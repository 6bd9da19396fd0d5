// N cheap WHEP load viewers: werift does ICE and DTLS as a browser would (and
// answers the server's consent checks and reports for the whole run), but the
// RTP never reaches werift. Each packet is counted from its header, which SRTP
// leaves in the clear (RFC 3711 3.1), and one in SAMPLE_EVERY is decrypted
// and authenticated with the keys werift negotiated, so a server sending
// garbage would not pass. That costs about half of node-datachannel's CPU per
// packet (one JS callback, no decryption), so 200 viewers fit on this machine
// beside the server. Usage and output: as loadViewers.ts, without the delay,
// with `checked` and `badAuth` (sampled packets, and those that failed) in the
// report; DEBUG_AUTH=1 names every failing packet (viewer, payload type, sequence, ROC) on stderr.
import { RTCPeerConnection } from "werift";
import { gatheringComplete, h264Codec, opusCodec } from "../../lib/werift/peerFactory.ts";
import { iceAgentsOf } from "../../lib/werift/iceCredentials.ts";
import { postOffer, runLoadViewers } from "../lib/loadWindow.ts";
import { isRtp, RtpSequenceCount } from "../lib/rtpSequenceCount.ts";

const SAMPLE_EVERY = 64;

interface Viewer {
  pc: RTCPeerConnection;
  location?: string;
  count: RtpSequenceCount;
}

/** werift's SRTP session: its receiving context's cipher takes the ROC we track. */
interface Srtp {
  remoteContext: { cipher: { decryptRtp(packet: Buffer, rolloverCounter: number): unknown } };
}

/** werift's transport of an ICE agent's host candidate, whose onData we take over for RTP. */
interface HostTransport {
  transport?: { onData: (data: Buffer, addr: unknown) => void };
}

const [url, countArg = "10", windowArg = "10"] = process.argv.slice(2);
if (!url) throw new Error("usage: headerLoadViewers.ts <whep url> <N> <windowSeconds>");
const sampled = { checked: 0, badAuth: 0 };

/** RTP goes to `onRtp`; STUN, DTLS and RTCP go on to werift. */
function takeRtp(pc: RTCPeerConnection, onRtp: (packet: Buffer) => void): void {
  for (const agent of iceAgentsOf(pc)) {
    for (const protocol of (agent as unknown as { protocols: HostTransport[] }).protocols) {
      const transport = protocol.transport;
      if (!transport) continue;
      const toWerift = transport.onData;
      transport.onData = (data, addr) => (isRtp(data) ? onRtp(data) : toWerift(data, addr));
    }
  }
}

function srtpOf(pc: RTCPeerConnection): Srtp | undefined {
  return (pc.getTransceivers()[0]?.dtlsTransport as unknown as { srtp?: Srtp } | undefined)?.srtp;
}

/**
 * Decrypts and authenticates one packet (RFC 7714 or RFC 3711) with werift's
 * keys and the ROC counted from every packet: werift's own guess of the ROC
 * needs to see the packets around a rollover, and sampling skips them.
 */
function check(pc: RTCPeerConnection, viewerIndex: number, packet: Buffer, rolloverCounter: number): void {
  const srtp = srtpOf(pc);
  if (!srtp) return; // DTLS not done yet: nothing to check against
  sampled.checked++;
  try {
    srtp.remoteContext.cipher.decryptRtp(Buffer.from(packet), rolloverCounter);
  } catch {
    sampled.badAuth++;
    if (process.env.DEBUG_AUTH) {
      console.error(
        "bad auth",
        viewerIndex,
        packet[1]! & 0x7f,
        (packet[2]! << 8) | packet[3]!,
        rolloverCounter,
        packet.length,
      );
    }
  }
}

async function connect(index: number): Promise<Viewer> {
  const pc = new RTCPeerConnection({
    iceServers: [],
    codecs: { video: [h264Codec()], audio: [opusCodec()] },
    headerExtensions: { video: [], audio: [] },
  });
  const viewer: Viewer = { pc, count: new RtpSequenceCount() };
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  await pc.setLocalDescription(await pc.createOffer());
  await gatheringComplete(pc);
  takeRtp(pc, (packet) => {
    const rolloverCounter = viewer.count.count(packet);
    if (viewer.count.packets % SAMPLE_EVERY === 0) check(pc, index, packet, rolloverCounter);
  });
  const { answer, location } = await postOffer(url!, pc.localDescription!.sdp);
  viewer.location = location;
  await pc.setRemoteDescription({ type: "answer", sdp: answer });
  return viewer;
}

const viewers = await runLoadViewers(Number(countArg), Number(windowArg), connect, {
  onWindow: (open) => open && Object.assign(sampled, { checked: 0, badAuth: 0 }),
  extra: () => ({ ...sampled }),
});
await Promise.all(viewers.map((v) => v.pc.close()));
process.exit(0);

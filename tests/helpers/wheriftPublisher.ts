import { RTCPeerConnection, type RTCRtpSender, RtpHeader, RtpPacket } from "werift";
import type { AccessUnit } from "../../lib/accessUnit.ts";
import { H264Packetizer } from "../../lib/rtp/h264Packetizer.ts";
import { OpusPacketizer } from "../../lib/rtp/opusPacketizer.ts";
import { gatheringComplete, h264Codec, opusCodec } from "../../lib/werift/peerFactory.ts";

export interface WhipTestPublisher {
  pc: RTCPeerConnection;
  response: Response;
  answer: string;
  /** Video RTP payloads sent, in order. */
  sentVideo: Uint8Array[];
  /** Resolves when every unit (times loops) was sent. */
  done: Promise<void>;
  close(): Promise<void>;
}

/**
 * A werift WHIP publisher, as OBS or a browser would be: sendonly offer POSTed
 * to `url`, then the given access units sent as RTP at real time (by PTS).
 */
export async function whipPublish(
  url: string,
  units: AccessUnit[],
  options: { loops?: number; headers?: Record<string, string> } = {},
): Promise<WhipTestPublisher> {
  const pc = new RTCPeerConnection({
    iceServers: [],
    codecs: { video: [h264Codec()], audio: [opusCodec()] },
    headerExtensions: { video: [], audio: [] },
  });
  const hasVideo = units.some((u) => u.track === "video");
  const hasAudio = units.some((u) => u.track === "audio");
  const video = hasVideo ? pc.addTransceiver("video", { direction: "sendonly" }) : undefined;
  const audio = hasAudio ? pc.addTransceiver("audio", { direction: "sendonly" }) : undefined;
  await pc.setLocalDescription(await pc.createOffer());
  await gatheringComplete(pc);
  // werift (bundlePolicy max-compat) gathers an ICE transport per m-line; when the answer bundles them it
  // moves the audio m-line onto the video's transport and pc.close() leaves the spare one open, socket and all.
  const transports = [...new Set(pc.getTransceivers().flatMap((t) => t.dtlsTransport ?? []))];
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/sdp", ...options.headers },
    body: pc.localDescription!.sdp,
  });
  const answer = await response.text();
  const sentVideo: Uint8Array[] = [];
  let stopped = false;
  let done = Promise.resolve();
  if (response.status === 201) {
    await pc.setRemoteDescription({ type: "answer", sdp: answer });
    await new Promise<void>((resolve) => pc.connectionStateChange.subscribe((s) => s === "connected" && resolve()));
    done = sendAtRealTime(
      units,
      options.loops ?? 1,
      { video: video?.sender, audio: audio?.sender },
      sentVideo,
      () => stopped,
    );
  }
  return {
    pc,
    response,
    answer,
    sentVideo,
    done,
    async close() {
      stopped = true;
      await pc.close();
      await Promise.all(transports.map((t) => t.stop())); // the spare one too (a no-op for those closed)
    },
  };
}

async function sendAtRealTime(
  units: AccessUnit[],
  loops: number,
  senders: { video?: RTCRtpSender; audio?: RTCRtpSender },
  sentVideo: Uint8Array[],
  stopped: () => boolean,
): Promise<void> {
  const h264 = new H264Packetizer();
  const opus = new OpusPacketizer();
  const seq = { video: 1000, audio: 2000 };
  const first = units[0]!.pts;
  const span = units.at(-1)!.pts - first + 3000;
  const start = performance.now();
  for (let loop = 0; loop < loops; loop++) {
    for (const unit of units) {
      const dueMs = (unit.pts - first + loop * span) / 90;
      const wait = start + dueMs - performance.now();
      if (wait > 0) await Bun.sleep(wait); // pacing: a live sender sends each unit at its time
      if (stopped()) return;
      const shift = loop * span;
      const payloads = unit.track === "video"
        ? h264.packetize({ ...unit, pts: unit.pts + shift, dts: unit.dts + shift })
        : opus.packetize({ ...unit, pts: unit.pts + shift });
      const sender = unit.track === "video" ? senders.video : senders.audio;
      for (const p of payloads) {
        if (unit.track === "video") sentVideo.push(p.payload);
        const n = unit.track === "video" ? seq.video++ : seq.audio++;
        await sender?.sendRtp(
          new RtpPacket(
            new RtpHeader({ sequenceNumber: n & 0xffff, timestamp: p.timestamp, marker: p.marker }),
            Buffer.from(p.payload),
          ),
        );
      }
    }
  }
}

import { type RTCDtlsTransport, RTCPeerConnection, type RtpPacket } from "werift";
import { gatheringComplete, h264Codec, opusCodec } from "../../lib/werift/peerFactory.ts";

export interface WhepTestClient {
  pc: RTCPeerConnection;
  response: Response;
  location: string | undefined;
  answer: string;
  video: RtpPacket[];
  audio: RtpPacket[];
  /** Every DTLS (and ICE) transport werift made for it, a spare one left by bundling included; close() stops them all. */
  transports: RTCDtlsTransport[];
  /** Resolves once `predicate` holds after some packet arrived (rejects after timeoutMs). */
  until(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A werift WHEP viewer, as a browser would be: recvonly offer with complete
 * candidates, POSTed to `url`; records every RTP packet it receives.
 */
export async function whepPlay(
  url: string,
  options: { video?: boolean; audio?: boolean; fetch?: typeof fetch } = {},
): Promise<WhepTestClient> {
  const pc = new RTCPeerConnection({
    iceServers: [],
    codecs: { video: [h264Codec()], audio: [opusCodec()] },
    headerExtensions: { video: [], audio: [] },
  });
  const video: RtpPacket[] = [];
  const audio: RtpPacket[] = [];
  const waiters = new Set<() => void>();
  const record = (list: RtpPacket[]) => (rtp: RtpPacket) => {
    list.push(rtp.clone());
    for (const w of [...waiters]) w();
  };
  if (options.video !== false) {
    pc.addTransceiver("video", { direction: "recvonly" }).onTrack.subscribe((t) =>
      t.onReceiveRtp.subscribe(record(video))
    );
  }
  if (options.audio !== false) {
    pc.addTransceiver("audio", { direction: "recvonly" }).onTrack.subscribe((t) =>
      t.onReceiveRtp.subscribe(record(audio))
    );
  }
  await pc.setLocalDescription(await pc.createOffer());
  await gatheringComplete(pc);
  // werift (bundlePolicy max-compat) gathers an ICE transport per m-line; when the answer bundles them
  // it moves the audio m-line onto the video's transport and leaves the spare one open, sockets and all.
  const transports = [...new Set(pc.getTransceivers().flatMap((t) => t.dtlsTransport ?? []))];
  const response = await (options.fetch ?? fetch)(url, {
    method: "POST",
    headers: { "Content-Type": "application/sdp" },
    body: pc.localDescription!.sdp,
  });
  const answer = await response.text();
  if (response.status === 201) await pc.setRemoteDescription({ type: "answer", sdp: answer });
  const location = response.headers.get("Location") ?? undefined;
  return {
    pc,
    response,
    location,
    answer,
    video,
    audio,
    transports,
    until(predicate, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate()) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out after ${timeoutMs} ms (video ${video.length}, audio ${audio.length} packets)`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async close() {
      await pc.close();
      await Promise.all(transports.map((t) => t.stop())); // the spare one too (a no-op for those closed)
    },
  };
}

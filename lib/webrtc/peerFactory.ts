import { RTCPeerConnection, RTCRtpCodecParameters, type RTCIceServer } from "werift";

export interface PeerFactoryOptions {
  /** STUN/TURN servers for werift; empty by default (FACTS.md: the default Google STUN stalls answers on closed networks). */
  iceServers?: RTCIceServer[];
}

/** H.264 as browsers decode it over WebRTC: packetization-mode 1 (FU-A), constrained baseline level 3.1. */
export function h264Codec(): RTCRtpCodecParameters {
  return new RTCRtpCodecParameters({
    mimeType: "video/H264",
    clockRate: 90_000,
    rtcpFeedback: [{ type: "nack" }, { type: "nack", parameter: "pli" }],
    parameters: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
  });
}

/** Opus per RFC 7587: always 48000/2 in SDP. */
export function opusCodec(): RTCRtpCodecParameters {
  return new RTCRtpCodecParameters({ mimeType: "audio/opus", clockRate: 48_000, channels: 2 });
}

/**
 * Creates werift peer connections configured the same way for every session:
 * our codecs only (werift needs both kinds listed, FACTS.md), one bundled
 * transport, no header extensions (transport-cc state grows without bound in
 * werift, FACTS.md), no TCP candidates.
 */
export class PeerFactory {
  readonly #iceServers: RTCIceServer[];

  constructor(options: PeerFactoryOptions = {}) {
    this.#iceServers = options.iceServers ?? [];
  }

  create(): RTCPeerConnection {
    return new RTCPeerConnection({
      iceServers: this.#iceServers,
      codecs: { video: [h264Codec()], audio: [opusCodec()] },
      headerExtensions: { video: [], audio: [] },
      bundlePolicy: "max-bundle",
      iceUseTcp: false,
    });
  }
}

/** Resolves when ICE gathering is complete, so the answer carries every candidate (WHEP: no server trickle). */
export function gatheringComplete(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const { unSubscribe } = pc.iceGatheringStateChange.subscribe((state) => {
      if (state !== "complete") return;
      unSubscribe();
      resolve();
    });
  });
}

/**
 * Answers with a=setup:passive (RFC 8842 5: the answerer may pick either role
 * when offered actpass), so the client sends the DTLS ClientHello as soon as
 * ICE connects. As DTLS client werift waits a fixed 100 ms before its
 * ClientHello (FACTS.md); as server it waits for nobody. Call after
 * setRemoteDescription and before createAnswer.
 */
export function answerAsDtlsServer(pc: RTCPeerConnection): void {
  for (const transceiver of pc.getTransceivers()) {
    const transport = transceiver.dtlsTransport;
    if (transport && transport.role === "auto") transport.role = "server";
  }
}

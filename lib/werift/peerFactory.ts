import { type RTCIceServer, RTCPeerConnection, RTCRtpCodecParameters } from "werift";
import type { UdpMux } from "../udp/udpMux.ts";
import { setIceCredentials } from "./iceCredentials.ts";
import { useUdpMux } from "./weriftUdpMux.ts";

export interface PeerFactoryOptions {
  /** STUN/TURN servers for werift; empty by default (FACTS.md: the default Google STUN stalls answers on closed networks). */
  iceServers?: RTCIceServer[];
  /** All media on this one socket; without it werift opens a socket per connection. */
  mux?: UdpMux;
  /** Host candidate addresses to announce (a public IP behind 1:1 NAT, or the mux's bind address). */
  announcedAddresses?: string[];
  /** "replace": only the announced addresses are offered; "add": they come besides the interface addresses. */
  announceMode?: "replace" | "add";
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
  readonly #options: PeerFactoryOptions;

  constructor(options: PeerFactoryOptions = {}) {
    this.#options = options;
  }

  get iceServers(): RTCIceServer[] {
    return this.#options.iceServers ?? [];
  }

  create(): RTCPeerConnection {
    const announced = this.#options.announcedAddresses ?? [];
    return new RTCPeerConnection({
      iceServers: this.iceServers,
      codecs: { video: [h264Codec()], audio: [opusCodec()] },
      headerExtensions: { video: [], audio: [] },
      bundlePolicy: "max-bundle",
      iceUseTcp: false,
      // The mux is one IPv4 socket: an IPv6 candidate would need a second port.
      iceUseIpv6: !this.#options.mux,
      ...(announced.length > 0 ? { iceAdditionalHostAddresses: announced } : {}),
    });
  }

  /** Between setRemoteDescription and createAnswer: DTLS role, and the mux before gathering starts. */
  prepareAnswer(pc: RTCPeerConnection): void {
    answerAsDtlsServer(pc);
    const mux = this.#options.mux;
    setIceCredentials(pc, (ufrag) => mux?.hasUfrag(ufrag) ?? false);
    if (mux) useUdpMux(pc, mux);
  }

  /** The answer as sent: in "replace" mode only host candidates on announced addresses remain. */
  finishAnswer(sdp: string): string {
    const announced = this.#options.announcedAddresses ?? [];
    if (announced.length === 0 || this.#options.announceMode === "add") return sdp;
    const keep = (line: string) => {
      const match = /^a=candidate:\S+ \d+ \S+ \d+ (\S+) \d+ typ host/.exec(line);
      return !match || announced.includes(match[1]!);
    };
    return sdp.split("\r\n").filter(keep).join("\r\n");
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

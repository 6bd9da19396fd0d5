import type { RTCPeerConnection, RTCRtpSender, RTCRtpTransceiver } from "werift";
import type { Logger } from "../logger.ts";
import type { RtpSink } from "../pipeline/viewerTrack.ts";
import type { ReportBlock } from "../rtp/rtcpPackets.ts";
import type { MediaLink, SrtpSink, SrtpSinkOptions } from "../srtp/srtpSink.ts";
import { type PlayableTracks, withoutMdnsCandidates } from "../webrtc/offer.ts";
import { addTrickleCandidates } from "../webrtc/trickle.ts";
import { isRtcp } from "../webrtc/viewerLink.ts";
import { gatheringComplete, type PeerFactory } from "./peerFactory.ts";
import { type HandOverState, handOverState, sayWeriftGoodbye } from "./weriftHandover.ts";
import { weriftReportBlocks, weriftRoundTripMs } from "./weriftReceiverReports.ts";
import { WeriftSenderSink } from "./weriftSenderSink.ts";

export type TrackKind = "video" | "audio";

/** A send path of werift's own for a track: the benchmark's baseline (bench/lib/weriftSendPath.ts, RTCRtpSender.sendRtp). */
export type WeriftSendPath = (sender: RTCRtpSender) => RtpSink;

export interface ViewerHandshakeEvents {
  /** ICE and DTLS are connected (werift's connectionState). */
  connected(): void;
  /** werift's connection failed or closed while it held it. */
  ended(state: "failed" | "closed"): void;
  /** The viewer asked for a keyframe: RTCP PLI (RFC 4585 6.3.1). */
  pictureLoss(): void;
  /** The viewer reported packets of a track lost (RFC 4585 6.2.1 Generic NACK), while werift holds the connection. */
  nack(kind: TrackKind, lost: number[]): void;
  /** The viewer's receiver report blocks on a track (RFC 3550 6.4.1), with werift's round-trip estimate, while werift holds the connection. */
  receiverReport?(blocks: ReportBlock[], roundTripMs: number | undefined): void;
}

export interface ViewerHandshakeOptions {
  peers: PeerFactory;
  /** The tracks to send (matchOffer); offered media beyond them is answered inactive. */
  tracks: PlayableTracks;
  events: ViewerHandshakeEvents;
  logger: Logger;
  /** Send through a path of werift's instead of Wisp's (the benchmark's baseline); werift then keeps the connection. */
  sendPath?: WeriftSendPath;
}

/** A negotiated track: its SSRC (announced in the answer) and where its RTP goes while werift holds the connection. */
export interface NegotiatedTrack {
  ssrc: number;
  sink: RtpSink;
}

/** What werift hands over: the ViewerLink's route, credentials and keys (its transport taken), and each track's keys on a link. */
export interface TakenOver {
  link: HandOverState;
  /** A sink with the track's werift-negotiated SSRC, payload type and SRTP keys, sending on `link`; undefined if werift had none. */
  sinkFor(kind: TrackKind, link: MediaLink, options: SrtpSinkOptions): SrtpSink | undefined;
}

/**
 * The hand-over waits for the viewer's first SRTCP packet: it only has SRTP
 * keys once its DTLS handshake is complete, so it will not repeat its last
 * flight, which only werift could answer. A viewer that sends no RTCP (no
 * browser; some load clients) is handed over after this long: its DTLS
 * retransmission timer (about a second, werift's 0.5 s and growing) would
 * have repeated a lost flight, and werift answered it, by then.
 */
const HANDOVER_FALLBACK_MS = 4000;

/**
 * The werift part of a WHEP viewer: its sendonly peer connection, the offer
 * and answer, the connection state, PLI and NACK events, and at the end
 * either the hand-over (takeOver: werift's route, credentials and keys for
 * a ViewerLink, lib/werift/weriftHandover.ts) or a goodbye said in werift's
 * place. close() is idempotent; nothing after it refers to werift.
 */
export class ViewerHandshake {
  readonly tracks: Partial<Record<TrackKind, NegotiatedTrack>> = {};
  readonly #pc: RTCPeerConnection;
  readonly #options: ViewerHandshakeOptions;
  readonly #weriftSinks: Partial<Record<TrackKind, WeriftSenderSink>> = {};
  #stopWatching: () => void = () => {};
  #handOverTimer: ReturnType<typeof setTimeout> | undefined;
  #handedOver = false;
  #closed = false;

  constructor(options: ViewerHandshakeOptions) {
    this.#options = options;
    this.#pc = options.peers.create();
  }

  get connectionState(): string {
    return this.#closed ? "closed" : this.#pc.connectionState;
  }

  /** Where a connection that never connected got stuck: ICE, DTLS, or both fine and werift did not say. */
  describeState(): string {
    if (this.#closed) return "released";
    return `ICE ${this.#pc.iceConnectionState}, DTLS ${
      this.#pc.dtlsTransports.map((t) => t.state).join(",") || "none"
    }`;
  }

  /** Negotiates; resolves with the answer once ICE gathering is complete (WHEP: no server trickle). */
  async answer(offerSdp: string): Promise<string> {
    const pc = this.#pc;
    const { tracks, peers } = this.#options;
    const video = tracks.video ? pc.addTransceiver("video", { direction: "sendonly" }) : undefined;
    const audio = tracks.audio ? pc.addTransceiver("audio", { direction: "sendonly" }) : undefined;
    await pc.setRemoteDescription({ type: "offer", sdp: withoutMdnsCandidates(offerSdp) });
    // Offered media this stream lacks: answered inactive (RFC 3264 6), nothing is sent there.
    for (const t of pc.getTransceivers()) if (t !== video && t !== audio) t.setDirection("inactive");
    this.#adopt("video", video);
    this.#adopt("audio", audio);
    this.#watchConnection(pc);
    peers.prepareAnswer(pc);
    await pc.setLocalDescription(await pc.createAnswer());
    await gatheringComplete(pc);
    return peers.finishAnswer(pc.localDescription!.sdp);
  }

  /** Applies an application/trickle-ice-sdpfrag body (RFC 8840). */
  async addCandidates(fragment: string): Promise<void> {
    await addTrickleCandidates(this.#pc, fragment);
  }

  /**
   * Arms the hand-over (see HANDOVER_FALLBACK_MS): `due` is called once, on
   * the viewer's first RTCP datagram or after the fallback delay. Nothing
   * happens when werift must keep the connection: a send path of werift's, no
   * track, not connected, or not on the UDP mux (its own socket cannot be taken over).
   */
  armHandOver(due: () => void): void {
    if (this.#options.sendPath || Object.keys(this.#weriftSinks).length === 0 || this.#closed) return;
    const state = handOverState(this.#pc);
    if (typeof state === "string") return;
    const fire = () => {
      if (!this.#handOverTimer || this.#closed) return;
      clearTimeout(this.#handOverTimer);
      this.#handOverTimer = undefined;
      due();
    };
    const transport = state.transport;
    const weriftOnData = transport.onData;
    transport.onData = (data, from) => {
      weriftOnData(data, from); // werift reads this one (a NACK is answered); the next is ours
      if (this.#handOverTimer && isRtcp(data)) queueMicrotask(fire);
    };
    this.#handOverTimer = setTimeout(fire, HANDOVER_FALLBACK_MS);
  }

  /**
   * werift hands the connection over: its route is taken (its transport
   * closed), and what it negotiated returned for a ViewerLink; close() then
   * releases werift without a goodbye (the viewer notices nothing). A string
   * says why werift keeps the connection instead.
   */
  takeOver(): TakenOver | string {
    if (this.#closed) return "the viewer closed";
    const state = handOverState(this.#pc); // read again: the selected pair and werift's SRTCP index are this moment's
    if (typeof state === "string") return state;
    this.#handedOver = true;
    return {
      link: { ...state, transport: state.transport.handOver() },
      sinkFor: (kind, link, options) => this.#weriftSinks[kind]?.detach(link, options),
    };
  }

  /**
   * Releases werift, once. Before a hand-over werift's close() says no
   * goodbye: it is said in werift's place first (RTCP BYE, DTLS close_notify;
   * sayWeriftGoodbye), and werift closes once it has left.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#handOverTimer);
    this.#handOverTimer = undefined;
    const pc = this.#pc;
    const warn = (what: string) => (error: Error) => this.#options.logger.warn(what, { error: error.message });
    if (this.#handedOver) {
      this.#stopWatching(); // werift's close() must not end the viewer, which goes on without it
      pc.close().catch(warn("peer connection release failed"));
      return;
    }
    sayWeriftGoodbye(pc)
      .catch(warn("goodbye to the viewer failed"))
      .then(() => pc.close())
      .catch(warn("peer connection close failed"));
  }

  /** A track's sink (Wisp's send path on werift's keys, or the one given), its PLI and NACK events. */
  #adopt(kind: TrackKind, transceiver: RTCRtpTransceiver | undefined): void {
    if (!transceiver) return;
    const { sender } = transceiver;
    const { events, sendPath } = this.#options;
    sender.onPictureLossIndication.subscribe(() => events.pictureLoss());
    sender.onRtcp.subscribe((packet) => {
      const blocks = weriftReportBlocks(packet, sender.ssrc);
      if (blocks.length > 0 && !this.#handedOver) events.receiverReport?.(blocks, weriftRoundTripMs(sender));
    });
    if (sendPath) {
      this.tracks[kind] = { ssrc: sender.ssrc, sink: sendPath(sender) };
      return;
    }
    const sink = new WeriftSenderSink(sender);
    sink.onNack((lost) => this.#handedOver || events.nack(kind, lost));
    this.#weriftSinks[kind] = sink;
    this.tracks[kind] = { ssrc: sender.ssrc, sink };
  }

  #watchConnection(pc: RTCPeerConnection): void {
    const { events } = this.#options;
    const { unSubscribe } = pc.connectionStateChange.subscribe((state) => {
      if (state === "connected") events.connected();
      else if (state === "failed" || state === "closed") events.ended(state);
    });
    this.#stopWatching = unSubscribe;
  }
}

import type { RTCPeerConnection, RTCRtpTransceiver } from "werift";
import type { IngestSession } from "../ingest/ingestSession.ts";
import type { Logger } from "../logger.ts";
import type { Registry, ViewerSlot } from "../registry.ts";
import type { FrameReader } from "../pipeline/frameReader.ts";
import type { MediaFrame } from "../pipeline/mediaFrame.ts";
import type { Pump, SendScheduler } from "../pipeline/sendScheduler.ts";
import { unguessableId } from "../ids.ts";
import { asOfferError, matchOffer, parseOffer, withoutMdnsCandidates, type PlayableTracks } from "./offer.ts";
import { gatheringComplete, type PeerFactory } from "../werift/peerFactory.ts";
import { DirectRtpSender, type RtpSendPath } from "./directRtpSender.ts";
import type { RtcpFeedback } from "../rtp/rtcpPackets.ts";
import { isRtcp, ViewerLink } from "./viewerLink.ts";
import { handOverState, sayWeriftGoodbye } from "../werift/weriftHandover.ts";
import { OutgoingTrack } from "./outgoingTrack.ts";
import { WeriftRtpSender } from "../werift/weriftRtpSender.ts";
import { addTrickleCandidates, checkTrickleFragment } from "./trickle.ts";

export interface WhepViewerOptions {
  offerSdp: string;
  session: IngestSession;
  /** Follow the stream name across publisher switches (false: pinned to one request ID). */
  follow: boolean;
  registry: Registry;
  /** Already reserved; the viewer releases it when it closes, on every path. */
  slot: ViewerSlot;
  peers: PeerFactory;
  maxQueueBytes: number;
  logger: Logger;
  /** Spreads sending over event-loop turns, shared by every viewer of the process. */
  scheduler: SendScheduler;
  /** "direct" (default): our SRTP and batched sends; "werift": RTCRtpSender.sendRtp, the benchmark baseline. */
  sendPath?: "direct" | "werift";
  /** Release werift's peer connection once connected (direct path on the UDP mux only); default true. */
  handOver?: boolean;
  /** After the hand-over, seal whole frames natively where possible (WEBRTC_NATIVE_SRTP); default true. */
  nativeSrtp?: boolean;
  /** Give up when ICE/DTLS has not connected by then. */
  connectTimeoutMs?: number;
}

/** A fast-start frame waiting to go out, and how far its timestamps move. */
interface CatchUpFrame {
  frame: MediaFrame;
  shift: number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 20_000;
const VIDEO_FRAME_STEP = 3000; // 90 kHz / 30 fps
const OPUS_FRAME_STEP = 960; // 48 kHz * 20 ms
const CATCH_UP_SPACING = 90; // 1 ms at 90 kHz between squeezed catch-up frames
const VIDEO_NACK_HISTORY = 512; // packets kept for retransmission: ~1.2 s at 3 Mbit/s
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
 * One WHEP playback session: a sendonly werift peer connection fed from a
 * stream's output. close() is idempotent and is the single exit path: reader,
 * peer connection and viewer slot are released there, whatever ended it
 * (DELETE, ICE failure, consent loss, connect timeout, stream end).
 */
export class WhepViewer {
  readonly id = unguessableId();
  readonly etag = `"${unguessableId()}"`;
  readonly createdAt = new Date();
  readonly streamName: string;
  readonly tracks: PlayableTracks;
  answerSdp = "";
  closeReason: string | undefined;
  readonly #options: WhepViewerOptions;
  readonly #logger: Logger;
  /** werift's connection until the hand-over; then undefined and the link carries on. */
  #pc: RTCPeerConnection | undefined;
  #link: ViewerLink | undefined;
  /** Set while a hand-over is due (its fallback timer); the viewer's first RTCP may bring it forward. */
  #handOverTimer: ReturnType<typeof setTimeout> | undefined;
  #stopWatchingPc: () => void = () => {};
  readonly #directSenders: DirectRtpSender[] = [];
  readonly #outgoing: { video?: OutgoingTrack; audio?: OutgoingTrack } = {};
  readonly #closeListeners = new Set<(viewer: WhepViewer) => void>();
  #session: IngestSession;
  #reader: FrameReader | undefined;
  #catchUp: CatchUpFrame[] = [];
  readonly #pump: Pump;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #playing = false;
  readonly #stopWatchingEnd: () => void;

  /** Negotiates and returns a viewer with its answer; on any failure everything is released and the error rethrown. */
  static async create(options: WhepViewerOptions): Promise<WhepViewer> {
    const viewer = new WhepViewer(options);
    try {
      await viewer.#negotiate(options.offerSdp);
      return viewer;
    } catch (error) {
      viewer.close(`negotiation failed: ${(error as Error).message}`);
      throw asOfferError(error);
    }
  }

  private constructor(options: WhepViewerOptions) {
    this.#options = options;
    this.#session = options.session;
    this.streamName = options.session.name;
    this.#logger = options.logger.child({ session: this.id });
    // Validate before creating anything that would need closing.
    const offered = parseOffer(options.offerSdp);
    const output = options.session.output;
    this.tracks = matchOffer(offered, { video: output.hasVideo, audio: output.hasAudio }, this.streamName);
    this.#pc = options.peers.create();
    const hasPending = () => !this.closed && (this.#catchUp.length > 0 || (this.#reader?.size ?? 0) > 0);
    this.#pump = {
      sendNextFrame: () => this.#sendNextFrame(),
      get hasPending() {
        return hasPending();
      },
      failed: (error) => this.#sendFailed(error),
    };
    // Until media flows, the play loop cannot see the stream end: watch it here.
    this.#stopWatchingEnd = options.session.onEnd((reason) => {
      if (this.#playing || (options.follow && reason === "replaced")) return;
      this.close(`stream ended (${reason}) before the viewer connected`);
    });
  }

  get closed(): boolean {
    return this.closeReason !== undefined;
  }

  get requestId(): string {
    return this.#session.requestId;
  }

  get connectionState(): string {
    if (this.#link) return this.#link.closed ? "closed" : "connected";
    return this.#pc?.connectionState ?? "closed";
  }

  /** Whether werift has handed the connection over to Wisp's own ViewerLink. */
  get handedOver(): boolean {
    return this.#link !== undefined;
  }

  /** `queuedFrames`: frames waiting in this viewer's queue for their turn (lib/pipeline/sendScheduler.ts). */
  stats(): { packetsSent: number; droppedFrames: number; queuedFrames: number; retransmitted: number } {
    const sent = (this.#outgoing.video?.packetsSent ?? 0) + (this.#outgoing.audio?.packetsSent ?? 0);
    const retransmitted = this.#directSenders.reduce((sum, sender) => sum + sender.retransmitted, 0);
    return { packetsSent: sent, droppedFrames: this.#reader?.droppedFrames ?? 0, queuedFrames: this.#reader?.size ?? 0, retransmitted };
  }

  /** What the ViewerLink has seen since the hand-over (ICE consent, RTCP, DTLS); undefined before it. */
  linkStats(): ViewerLink["stats"] | undefined {
    return this.#link?.stats;
  }

  onClose(listener: (viewer: WhepViewer) => void): void {
    if (this.closed) listener(this);
    else this.#closeListeners.add(listener);
  }

  /** Applies an application/trickle-ice-sdpfrag body (RFC 8840). */
  async addCandidates(fragment: string): Promise<void> {
    if (this.#pc) await addTrickleCandidates(this.#pc, fragment);
    else checkTrickleFragment(fragment, this.#link?.remoteUfrag); // after the hand-over ICE is done: candidates change nothing
  }

  /** Ends the session once, on every path. */
  close(reason: string): void {
    if (this.closed) return;
    this.closeReason = reason;
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#handOverTimer);
    this.#stopWatchingEnd();
    this.#catchUp = [];
    this.#reader?.close();
    this.#options.slot.release();
    this.#link?.close(); // says its own goodbye
    if (this.#pc) this.#releaseWerift(this.#pc);
    this.#pc = undefined;
    this.#logger.info("viewer closed", { reason, handedOver: this.handedOver, ...this.stats() });
    for (const listener of this.#closeListeners) listener(this);
    this.#closeListeners.clear();
  }

  /**
   * werift's close() says no goodbye: it is said in werift's place first (RTCP
   * BYE, DTLS close_notify; sayWeriftGoodbye), and werift closes once it has left.
   */
  #releaseWerift(pc: RTCPeerConnection): void {
    const warn = (what: string) => (error: Error) => this.#logger.warn(what, { error: error.message });
    sayWeriftGoodbye(pc)
      .catch(warn("goodbye to the viewer failed"))
      .then(() => pc.close())
      .catch(warn("peer connection close failed"));
  }

  async #negotiate(offerSdp: string): Promise<void> {
    const pc = this.#pc!;
    const video = this.tracks.video ? pc.addTransceiver("video", { direction: "sendonly" }) : undefined;
    const audio = this.tracks.audio ? pc.addTransceiver("audio", { direction: "sendonly" }) : undefined;
    await pc.setRemoteDescription({ type: "offer", sdp: withoutMdnsCandidates(offerSdp) });
    // Offered media this stream lacks: answered inactive (RFC 3264 6), nothing is sent there.
    for (const t of pc.getTransceivers()) if (t !== video && t !== audio) t.setDirection("inactive");
    if (video) this.#outgoing.video = new OutgoingTrack(this.#sendPath(video, VIDEO_NACK_HISTORY), VIDEO_FRAME_STEP);
    if (audio) this.#outgoing.audio = new OutgoingTrack(this.#sendPath(audio, 0), OPUS_FRAME_STEP); // no NACK for Opus
    this.#watchConnection(pc, [video, audio]);
    this.#options.peers.prepareAnswer(pc);
    await pc.setLocalDescription(await pc.createAnswer());
    await gatheringComplete(pc);
    if (this.closed) throw new Error(`viewer closed while negotiating (${this.closeReason})`);
    this.answerSdp = this.#options.peers.finishAnswer(pc.localDescription!.sdp);
  }

  #sendPath(transceiver: RTCRtpTransceiver, historySize: number): RtpSendPath {
    if (this.#options.sendPath === "werift") return new WeriftRtpSender(transceiver.sender);
    const sender = new DirectRtpSender(transceiver.sender, { historySize, nativeFrames: this.#options.nativeSrtp });
    this.#directSenders.push(sender);
    return sender;
  }

  #watchConnection(pc: RTCPeerConnection, transceivers: Array<RTCRtpTransceiver | undefined>): void {
    const timeoutMs = this.#options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.#connectTimer = setTimeout(() => this.close(`not connected after ${timeoutMs} ms (${this.#connectionStates()})`), timeoutMs);
    // Closures here must not capture `pc`: they outlive the hand-over, which lets werift's connection go.
    const { unSubscribe } = pc.connectionStateChange.subscribe((state) => this.#onConnectionState(state));
    this.#stopWatchingPc = unSubscribe;
    for (const t of transceivers) {
      t?.sender.onPictureLossIndication.subscribe(() => this.#session.requestKeyframe());
    }
  }

  /** Where a connection that never connected got stuck: ICE, DTLS, or both fine and werift did not say. */
  #connectionStates(): string {
    const pc = this.#pc;
    if (!pc) return "released";
    return `ICE ${pc.iceConnectionState}, DTLS ${pc.dtlsTransports.map((t) => t.state).join(",") || "none"}`;
  }

  #onConnectionState(state: string): void {
    if (state === "connected") {
      clearTimeout(this.#connectTimer);
      this.#connectTimer = undefined;
      this.#logger.info("viewer connected");
      this.#play().catch((error: Error) => this.close(`media loop failed: ${error.message}`));
      if (this.#pc) this.#prepareHandOver(this.#pc);
    } else if (state === "failed" || state === "closed") {
      this.close(`peer connection ${state}`);
    }
  }

  /**
   * Arms the hand-over (see HANDOVER_FALLBACK_MS): on the viewer's first RTCP
   * datagram, or after the fallback delay. Only our direct senders on the UDP
   * mux can go on without werift.
   */
  #prepareHandOver(pc: RTCPeerConnection): void {
    const ready = this.#options.handOver !== false && this.#directSenders.length > 0;
    const state = ready ? handOverState(pc) : undefined;
    if (!state || typeof state === "string") return;
    const transport = state.transport;
    const weriftOnData = transport.onData;
    transport.onData = (data, from) => {
      weriftOnData(data, from); // werift reads this one (a NACK is answered); the next is ours
      if (this.#handOverTimer && isRtcp(data)) queueMicrotask(() => this.#handOver());
    };
    this.#handOverTimer = setTimeout(() => this.#handOver(), HANDOVER_FALLBACK_MS);
  }

  /**
   * werift's peer connection is released and a ViewerLink carries on with
   * the same route, credentials and keys. If anything is missing werift just
   * keeps the connection (logged), as with WEBRTC_HANDOVER=off.
   */
  #handOver(): void {
    const pc = this.#pc;
    if (!this.#handOverTimer || this.closed || !pc) return;
    clearTimeout(this.#handOverTimer);
    this.#handOverTimer = undefined;
    const startedMs = performance.now();
    const state = handOverState(pc); // read again: the selected pair and werift's SRTCP index are this moment's
    if (typeof state === "string") return this.#logger.warn("werift keeps the connection: no hand-over", { reason: state });
    const link = new ViewerLink({
      ...state,
      transport: state.transport.handOver(),
      senderReports: () => this.#senderReports(),
      onFeedback: (feedback) => this.#onFeedback(feedback),
      onClose: (reason) => this.close(reason),
      logger: this.#logger,
    });
    for (const sender of this.#directSenders) {
      if (!sender.handOver(link)) this.#logger.warn("a track could not be handed over: it stops", { ssrc: sender.ssrc });
    }
    this.#link = link;
    this.#pc = undefined;
    this.#stopWatchingPc();
    this.#stopWatchingPc = () => {}; // its closure holds werift's event, and through it the peer connection
    // werift's close() sends no goodbye (sayWeriftGoodbye), and its transport is handed over: the viewer notices nothing.
    pc.close().catch((error: Error) => this.#logger.warn("peer connection release failed", { error: error.message }));
    this.#logger.info("viewer handed over from werift", { ms: Number((performance.now() - startedMs).toFixed(2)) });
  }

  #senderReports() {
    return this.#directSenders.flatMap((sender) => sender.senderReport() ?? []);
  }

  /** RTCP from the viewer after the hand-over (RFC 4585, RFC 5104). */
  #onFeedback(feedback: RtcpFeedback): void {
    if (feedback.type === "nack") {
      this.#directSenders.find((sender) => sender.ssrc === feedback.mediaSsrc)?.retransmit(feedback.lost);
    } else if (feedback.type === "pli" || feedback.type === "fir") {
      this.#session.requestKeyframe();
    }
  }

  /**
   * Subscribes to the stream and lets the scheduler pull frames until the
   * viewer closes or its stream ends for good (following a replacement).
   */
  async #play(): Promise<void> {
    this.#playing = true;
    const wake = () => this.#options.scheduler.wake(this.#pump);
    while (!this.closed) {
      const { reader, catchUp } = this.#session.output.subscribe(this.#options.maxQueueBytes, { fastStart: true, onReadable: wake });
      this.#reader = reader;
      this.#catchUp = this.#outgoing.video ? squeezeCatchUp(catchUp) : [];
      if (catchUp.length === 0) this.#session.requestKeyframe(); // it waits for a keyframe: ask for one now
      else wake();
      await reader.done;
      if (this.closed) return;
      const next = await this.#nextSession();
      if (!next) return this.close(`stream ended (${this.#session.endReason ?? "closed"})`);
      this.#logger.info("viewer follows the stream to a new session", { requestId: next.requestId });
      this.#session = next;
      this.#outgoing.video?.rebase();
      this.#outgoing.audio?.rebase();
    }
  }

  /** The scheduler's call: the next catch-up or live frame, if any; returns the packets sent. */
  #sendNextFrame(): number {
    if (this.closed) return 0;
    const catchUp = this.#catchUp.shift();
    if (catchUp) return this.#sendFrame(catchUp.frame, catchUp.shift);
    const frame = this.#reader?.poll();
    return frame ? this.#sendFrame(frame, 0) : 0;
  }

  /** Sending to this viewer threw (an encryption or batch error): it ends; the others go on. */
  #sendFailed(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.#logger.error("sending to the viewer failed", { error: message });
    this.close(`sending failed: ${message}`);
  }

  #sendFrame(frame: MediaFrame, timestampShift: number): number {
    const track = frame.track === "video" ? this.#outgoing.video : this.#outgoing.audio;
    if (!track) return 0;
    track.send(frame.packets, timestampShift, timestampShift === 0 ? frame.mediaTimeMs : undefined);
    return frame.packets.length;
  }

  /** After a "replaced" end, the stream's new session, once it knows its tracks. */
  async #nextSession(): Promise<IngestSession | undefined> {
    if (!this.#options.follow || this.#session.endReason !== "replaced") return undefined;
    try {
      return await this.#options.registry.waitForOutput(this.streamName, {
        timeoutMs: this.#options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      });
    } catch {
      return undefined; // the replacement never produced output: end like a finished stream
    }
  }
}

/**
 * Fast start: the GOP so far, sent at once so the browser shows a picture
 * now. Its timestamps are squeezed into the CATCH_UP_SPACING ticks just
 * before the newest frame, so the receiver's playout clock starts at the live
 * edge and no delay lasts (the decoder still gets every reference frame).
 */
function squeezeCatchUp(frames: MediaFrame[]): CatchUpFrame[] {
  const newest = frames.at(-1);
  if (!newest) return [];
  const newestTs = newest.packets[0]!.timestamp;
  return frames.map((frame, i) => {
    const span = (newestTs - frame.packets[0]!.timestamp + 2 ** 32) % 2 ** 32; // source ticks behind the newest
    const squeezed = (frames.length - 1 - i) * CATCH_UP_SPACING; // ticks behind it after squeezing
    return { frame, shift: span - squeezed };
  });
}

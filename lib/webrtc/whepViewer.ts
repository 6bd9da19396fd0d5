import type { RTCPeerConnection, RTCRtpTransceiver } from "werift";
import type { IngestSession } from "../ingestSession.ts";
import type { Logger } from "../logger.ts";
import type { Registry, ViewerSlot } from "../registry.ts";
import type { FrameReader } from "../pipeline/frameReader.ts";
import type { MediaFrame } from "../pipeline/mediaFrame.ts";
import type { Pump, SendScheduler } from "../pipeline/sendScheduler.ts";
import { unguessableId } from "../ids.ts";
import { matchOffer, parseOffer, withoutMdnsCandidates, type PlayableTracks } from "./offer.ts";
import { gatheringComplete, type PeerFactory } from "./peerFactory.ts";
import { DirectRtpSender, type RtpSendPath } from "./directRtpSender.ts";
import { OutgoingTrack } from "./outgoingTrack.ts";
import { WeriftRtpSender } from "./weriftRtpSender.ts";
import { addTrickleCandidates } from "./trickle.ts";

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
  readonly #pc: RTCPeerConnection;
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
      throw error;
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
    this.#pump = { sendNextFrame: () => this.#sendNextFrame(), get hasPending() { return hasPending(); } };
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
    return this.#pc.connectionState;
  }

  stats(): { packetsSent: number; droppedFrames: number } {
    const sent = (this.#outgoing.video?.packetsSent ?? 0) + (this.#outgoing.audio?.packetsSent ?? 0);
    return { packetsSent: sent, droppedFrames: this.#reader?.droppedFrames ?? 0 };
  }

  onClose(listener: (viewer: WhepViewer) => void): void {
    if (this.closed) listener(this);
    else this.#closeListeners.add(listener);
  }

  /** Applies an application/trickle-ice-sdpfrag body (RFC 8840). */
  async addCandidates(fragment: string): Promise<void> {
    await addTrickleCandidates(this.#pc, fragment);
  }

  /** Ends the session once, on every path. */
  close(reason: string): void {
    if (this.closed) return;
    this.closeReason = reason;
    clearTimeout(this.#connectTimer);
    this.#stopWatchingEnd();
    this.#catchUp = [];
    this.#reader?.close();
    this.#options.slot.release();
    this.#pc.close().catch((error: Error) => this.#logger.warn("peer connection close failed", { error: error.message }));
    this.#logger.info("viewer closed", { reason, ...this.stats() });
    for (const listener of this.#closeListeners) listener(this);
    this.#closeListeners.clear();
  }

  async #negotiate(offerSdp: string): Promise<void> {
    const pc = this.#pc;
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
    return new DirectRtpSender(transceiver.sender, { historySize });
  }

  #watchConnection(pc: RTCPeerConnection, transceivers: Array<RTCRtpTransceiver | undefined>): void {
    const timeoutMs = this.#options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.#connectTimer = setTimeout(() => this.close(`not connected after ${timeoutMs} ms`), timeoutMs);
    pc.connectionStateChange.subscribe((state) => {
      if (state === "connected") {
        clearTimeout(this.#connectTimer);
        this.#logger.info("viewer connected");
        this.#play().catch((error: Error) => this.close(`media loop failed: ${error.message}`));
      } else if (state === "failed" || state === "closed") {
        this.close(`peer connection ${state}`);
      }
    });
    for (const t of transceivers) {
      t?.sender.onPictureLossIndication.subscribe(() => this.#session.requestKeyframe());
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

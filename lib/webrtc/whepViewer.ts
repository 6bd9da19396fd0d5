import type { LiveStream } from "../liveStream.ts";
import type { StreamOutput } from "../pipeline/streamOutput.ts";
import type { Logger } from "../logger.ts";
import type { Registry, ViewerSlot } from "../registry.ts";
import type { Pump, SendScheduler } from "../pipeline/sendScheduler.ts";
import type { ViewerFeed } from "../pipeline/viewerFeed.ts";
import { ViewerTrack } from "../pipeline/viewerTrack.ts";
import type { RtcpFeedback } from "../rtp/rtcpPackets.ts";
import { unguessableId } from "../ids.ts";
import type { PeerFactory } from "../werift/peerFactory.ts";
import { type TrackKind, ViewerHandshake, type WeriftSendPath } from "../werift/viewerHandshake.ts";
import { asOfferError, matchOffer, parseOffer, type PlayableTracks } from "./offer.ts";
import { checkTrickleFragment } from "./trickle.ts";
import { ViewerLink } from "./viewerLink.ts";
import { ViewerQuality } from "./viewerQuality.ts";

/** How viewers' media is sent, chosen once at start-up (lib/webrtc/webrtcSetup.ts). */
export interface ViewerSending {
  /** Release werift's peer connection once connected, where it can be (WEBRTC_HANDOVER; on the UDP mux); default true. */
  handOver?: boolean;
  /** After the hand-over, seal whole frames natively where possible; default true (false: packet by packet, a benchmark's comparison). */
  nativeFrames?: boolean;
  /** A send path of werift's instead of Wisp's: the benchmark's baseline (bench/lib/weriftSendPath.ts); werift keeps the connection. */
  sendPath?: WeriftSendPath;
}

export interface WhepViewerOptions extends ViewerSending {
  offerSdp: string;
  /** The stream, its output ready. */
  stream: LiveStream;
  /** Pinned to one publish (WHEP ?requestId=): the viewer ends with it instead of following the stream. */
  requestId?: string;
  registry: Registry;
  /** Already reserved; the viewer releases it when it closes, on every path. */
  slot: ViewerSlot;
  peers: PeerFactory;
  /** Bytes the viewer's feed may hold, fast start included, before it drops to the next keyframe. */
  maxQueueBytes: number;
  logger: Logger;
  /** Spreads sending over event-loop turns, shared by every viewer of the process. */
  scheduler: SendScheduler;
  /** Give up when ICE/DTLS has not connected by then. */
  connectTimeoutMs?: number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 20_000;
/** Per track: RTP clock (RFC 6184 8.2.1, RFC 7587 4.1), a typical frame's ticks, packets kept for NACK. */
const TRACK_TIMING: Record<TrackKind, { clockRate: number; frameStep: number; historySize: number }> = {
  video: { clockRate: 90_000, frameStep: 3000, historySize: 512 }, // 30 fps; ~1.2 s at 3 Mbit/s
  audio: { clockRate: 48_000, frameStep: 960, historySize: 0 }, // 20 ms Opus; no NACK for Opus
};

/**
 * One WHEP playback session, through its life: created (negotiated by a
 * ViewerHandshake, werift's part), connected (a ViewerFeed from the stream's
 * output, sent by ViewerTracks), handed over (werift released, a ViewerLink
 * keeps the connection), closed. close() is idempotent and is the single exit
 * path: feed, werift or link, and viewer slot are released there, whatever
 * ended it (DELETE, ICE failure, consent loss, connect timeout, stream end).
 */
export class WhepViewer {
  readonly id = unguessableId();
  readonly etag = `"${unguessableId()}"`;
  readonly streamName: string;
  readonly tracks: PlayableTracks;
  answerSdp = "";
  closeReason: string | undefined;
  /** What is measured of this session: the viewers API and /metrics read it. */
  readonly quality = new ViewerQuality();
  /** The address its WHEP POST came from (set by the route), for the admin API. */
  remoteAddress: string | undefined;
  readonly #options: WhepViewerOptions;
  readonly #logger: Logger;
  /** werift's part until the hand-over (or the close); then undefined and the link carries on. */
  #handshake: ViewerHandshake | undefined;
  #link: ViewerLink | undefined;
  readonly #sending: Partial<Record<TrackKind, ViewerTrack>> = {};
  readonly #closeListeners = new Set<(viewer: WhepViewer) => void>();
  readonly #stream: LiveStream;
  /** The output being played (or last played, while the stream is between outputs). */
  #output: StreamOutput | undefined;
  #feed: ViewerFeed | undefined;
  readonly #pump: Pump;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #playing = false;
  /** Aborted by close(): a wait for the stream's next output ends with the viewer. */
  readonly #closing = new AbortController();
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
    this.#stream = options.stream;
    this.streamName = options.stream.name;
    this.#logger = options.logger.child({ session: this.id });
    // Validate before creating anything that would need closing.
    const offered = parseOffer(options.offerSdp);
    const output = options.stream.output;
    const has = { video: output?.hasVideo ?? false, audio: output?.hasAudio ?? false };
    this.tracks = matchOffer(offered, has, this.streamName);
    this.#handshake = new ViewerHandshake({
      peers: options.peers,
      tracks: this.tracks,
      logger: this.#logger,
      ...(options.sendPath ? { sendPath: options.sendPath } : {}),
      events: {
        connected: () => this.#onConnected(),
        ended: (state) => this.close(`peer connection ${state}`),
        pictureLoss: () => {
          this.quality.plis++;
          this.#stream.requestKeyframe();
        },
        nack: (kind, lost) => {
          this.quality.nacks++;
          this.#sending[kind]?.retransmit(lost);
        },
        receiverReport: (blocks, roundTripMs) => this.quality.receiverReport(blocks, roundTripMs),
      },
    });
    const hasPending = () => !this.closed && (this.#feed?.size ?? 0) > 0;
    this.#pump = {
      sendNextFrame: () => this.#sendNextFrame(),
      get hasPending() {
        return hasPending();
      },
      failed: (error) => this.#sendFailed(error),
    };
    // Until media flows, the play loop cannot see the stream end: watch it here.
    this.#stopWatchingEnd = options.stream.onChange(() => {
      if (this.#playing) return;
      if (this.#stream.ended) this.close(`stream ended (${this.#stream.endReason}) before the viewer connected`);
      else if (options.requestId && this.#stream.requestId !== options.requestId) {
        this.close(`publish ${options.requestId} ended before the viewer connected`);
      }
    });
  }

  get closed(): boolean {
    return this.closeReason !== undefined;
  }

  /** The publish whose output the viewer plays (or last played). */
  get requestId(): string {
    return this.#stream.outputRequestId ?? this.#stream.requestId;
  }

  get connectionState(): string {
    if (this.#link) return this.#link.closed ? "closed" : "connected";
    return this.#handshake?.connectionState ?? "closed";
  }

  /** Whether werift has handed the connection over to Wisp's own ViewerLink. */
  get handedOver(): boolean {
    return this.#link !== undefined;
  }

  /** Where its media goes (host:port), once Wisp keeps the connection itself. */
  get mediaAddress(): string | undefined {
    return this.#link?.destination.join(":");
  }

  /** `queuedFrames`: frames waiting in this viewer's feed for their turn (lib/pipeline/sendScheduler.ts). */
  stats(): {
    packetsSent: number;
    bytesSent: number;
    droppedFrames: number;
    queuedFrames: number;
    retransmitted: number;
  } {
    const tracks = Object.values(this.#sending);
    const packetsSent = tracks.reduce((sum, track) => sum + track.packetsSent, 0);
    const bytesSent = tracks.reduce((sum, track) => sum + track.bytesSent, 0);
    const retransmitted = tracks.reduce((sum, track) => sum + track.retransmitted, 0);
    return {
      packetsSent,
      bytesSent,
      droppedFrames: this.#feed?.droppedFrames ?? 0,
      queuedFrames: this.#feed?.size ?? 0,
      retransmitted,
    };
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
    if (this.#handshake) await this.#handshake.addCandidates(fragment);
    else checkTrickleFragment(fragment, this.#link?.remoteUfrag); // after the hand-over ICE is done: candidates change nothing
  }

  /** Ends the session once, on every path. */
  close(reason: string): void {
    if (this.closed) return;
    this.closeReason = reason;
    this.#closing.abort();
    clearTimeout(this.#connectTimer);
    this.#stopWatchingEnd();
    this.#feed?.close();
    this.#options.slot.release();
    this.#link?.close(); // says its own goodbye
    this.#handshake?.close(); // says werift's goodbye, unless handed over
    this.#handshake = undefined;
    this.#logger.info("viewer closed", { reason, handedOver: this.handedOver, ...this.stats() });
    for (const listener of this.#closeListeners) listener(this);
    this.#closeListeners.clear();
  }

  async #negotiate(offerSdp: string): Promise<void> {
    const handshake = this.#handshake!;
    const timeoutMs = this.#options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const notConnected = () =>
      `not connected after ${timeoutMs} ms (${this.#handshake?.describeState() ?? "released"})`;
    this.#connectTimer = setTimeout(() => this.close(notConnected()), timeoutMs);
    const answerSdp = await handshake.answer(offerSdp);
    if (this.closed) throw new Error(`viewer closed while negotiating (${this.closeReason})`);
    for (const kind of ["video", "audio"] as const) {
      const negotiated = handshake.tracks[kind];
      if (negotiated) {
        this.#sending[kind] = new ViewerTrack(negotiated.sink, { ssrc: negotiated.ssrc, ...TRACK_TIMING[kind] });
        this.quality.addTrack(kind, negotiated.ssrc, TRACK_TIMING[kind].clockRate);
      }
    }
    this.answerSdp = answerSdp;
  }

  #onConnected(): void {
    this.quality.connected();
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    this.#logger.info("viewer connected");
    this.#play().catch((error: Error) => this.close(`media loop failed: ${error.message}`));
    if (this.#options.handOver !== false) this.#handshake?.armHandOver(() => this.#handOver());
  }

  /**
   * werift's peer connection is released and a ViewerLink carries on with
   * the same route, credentials and keys. If anything is missing werift just
   * keeps the connection (logged), as with WEBRTC_HANDOVER=off.
   */
  #handOver(): void {
    const handshake = this.#handshake;
    if (this.closed || !handshake) return;
    const startedMs = performance.now();
    const taken = handshake.takeOver();
    if (typeof taken === "string") {
      return this.#logger.warn("werift keeps the connection: no hand-over", { reason: taken });
    }
    const link = new ViewerLink({
      ...taken.link,
      senderReports: () => {
        const reports = Object.values(this.#sending).flatMap((track) => track.senderReport() ?? []);
        this.quality.senderReportsSent(reports); // the link sends them now: round trips are measured from here
        return reports;
      },
      onFeedback: (feedback) => this.#onFeedback(feedback),
      onClose: (reason) => this.close(reason),
      logger: this.#logger,
    });
    const nativeFrames = this.#options.nativeFrames ?? true;
    for (const [kind, track] of Object.entries(this.#sending) as Array<[TrackKind, ViewerTrack]>) {
      const sink = taken.sinkFor(kind, link, { nativeFrames });
      if (!sink) this.#logger.warn("a track could not be handed over: it stops", { ssrc: track.ssrc });
      track.useSink(sink);
    }
    this.#link = link;
    this.#handshake = undefined;
    handshake.close(); // werift's close() sends no goodbye, and its transport is handed over: the viewer notices nothing
    this.#logger.info("viewer handed over from werift", { ms: Number((performance.now() - startedMs).toFixed(2)) });
  }

  /** RTCP from the viewer after the hand-over (RFC 4585, RFC 5104). */
  #onFeedback(feedback: RtcpFeedback): void {
    this.quality.feedback(feedback);
    if (feedback.type === "nack") {
      Object.values(this.#sending).find((track) => track.ssrc === feedback.mediaSsrc)?.retransmit(feedback.lost);
    } else if (feedback.type === "pli" || feedback.type === "fir") {
      this.#stream.requestKeyframe();
    }
  }

  /**
   * Plays the stream's output, and the next one after every swap (a pipeline
   * restart, a worker swap, a new or returning publisher), until the viewer
   * closes or the stream ends for good. Between outputs the viewer keeps its
   * connection and last picture; sequence numbers and timestamps continue
   * (ViewerTrack.rebase).
   */
  async #play(): Promise<void> {
    this.#playing = true;
    const wake = () => this.#options.scheduler.wake(this.#pump);
    while (!this.closed) {
      const previous = this.#output;
      const output = await this.#stream.nextOutput(previous, {
        requestId: this.#options.requestId,
        signal: this.#closing.signal,
      });
      if (this.closed) return;
      if (!output) return this.close(`stream ended (${this.#stream.endReason ?? "its publish ended"})`);
      if (previous) this.#followTo(output);
      this.#output = output;
      const feed = output.subscribe(this.#options.maxQueueBytes, { fastStart: true, onReadable: wake });
      this.#feed = feed;
      if (feed.size === 0) this.#stream.requestKeyframe(); // it waits for a keyframe: ask for one now
      else wake();
      await feed.done;
    }
  }

  #followTo(output: StreamOutput): void {
    this.#logger.info("viewer follows the stream to a new output", { requestId: this.#stream.outputRequestId });
    this.#sending.video?.rebase();
    this.#sending.audio?.rebase();
    const missing = (["video", "audio"] as const).filter((kind) => this.#sending[kind] && !hasKind(output, kind));
    if (missing.length > 0) {
      this.#logger.info("the new output lacks a track: it goes silent", { missing: missing.join(",") });
    }
  }

  /** The scheduler's call: the next frame of a track this viewer plays, if any; returns the packets sent. */
  #sendNextFrame(): number {
    if (this.closed) return 0;
    for (let next = this.#feed?.poll(); next; next = this.#feed?.poll()) {
      const { frame, timestampShift } = next;
      const track = this.#sending[frame.track];
      if (!track) continue; // a track this viewer did not ask for (its fast-start GOP, say)
      track.send(frame.packets, timestampShift, timestampShift === 0 ? frame.mediaTimeMs : undefined);
      this.quality.frameSent(track.packetsSent);
      return frame.packets.length;
    }
    return 0;
  }

  /** Sending to this viewer threw (an encryption or batch error): it ends; the others go on. */
  #sendFailed(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.#logger.error("sending to the viewer failed", { error: message });
    this.close(`sending failed: ${message}`);
  }
}

function hasKind(output: StreamOutput, kind: TrackKind): boolean {
  return kind === "video" ? output.hasVideo : output.hasAudio;
}

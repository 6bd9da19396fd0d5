import { type RTCPeerConnection, type RtcpPacket, RtcpSrPacket, type RTCRtpTransceiver, type RtpPacket } from "werift";
import type { AccessUnit } from "../accessUnit.ts";
import type { IngestSession } from "../ingest/ingestSession.ts";
import type { Logger } from "../logger.ts";
import type { Registry } from "../registry.ts";
import type { PublishOptions } from "../liveStream.ts";
import { unguessableId } from "../ids.ts";
import { TsMuxer } from "../mpegts/tsMuxer.ts";
import { JitterBuffer, type RtpItem } from "../rtp/jitterBuffer.ts";
import { H264Depacketizer } from "../rtp/h264Depacketizer.ts";
import { msFromNtp } from "../rtp/ntpTime.ts";
import { OpusDepacketizer } from "../rtp/opusDepacketizer.ts";
import { MAX_SR_CORRECTION_MS, type RtpClock, SessionClock } from "../rtp/rtpClock.ts";
import { asOfferError, type OfferedMedia, parseOffer, withoutMdnsCandidates } from "./offer.ts";
import { gatheringComplete, type PeerFactory } from "../werift/peerFactory.ts";
import { addTrickleCandidates } from "./trickle.ts";
import { UnprocessableError } from "../errors.ts";

export interface WhipPublisherOptions {
  streamName: string;
  offerSdp: string;
  registry: Registry;
  peers: PeerFactory;
  logger: Logger;
  /** Ask the publisher for a keyframe this often (go-livepeer: 2 s); 0 = only when needed. */
  keyframeIntervalMs: number;
  connectTimeoutMs?: number;
  /** The publish's pipeline and params (?pipeline=, ?params=); passthrough without. */
  publish?: PublishOptions;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 20_000;
const JITTER_POLL_MS = 10; // how often late packets are given up on (JitterBuffer maxWaitMs decides when)

/**
 * One WHIP publish (RFC 9725): a recvonly werift peer connection whose RTP is
 * reordered, depacketized into access units, muxed to MPEG-TS and written into
 * a fresh ingest session, exactly like an MPEG-TS push. close() is the single
 * exit path and ends the ingest session.
 */
export class WhipPublisher {
  readonly id = unguessableId();
  readonly etag = `"${unguessableId()}"`;
  /** Started once negotiation succeeded, so a failed offer never replaces a live stream. */
  session: IngestSession | undefined;
  answerSdp = "";
  closeReason: string | undefined;
  readonly #options: WhipPublisherOptions;
  readonly #logger: Logger;
  readonly #pc: RTCPeerConnection;
  readonly #muxer: TsMuxer;
  readonly #timers: Array<ReturnType<typeof setInterval>> = [];
  readonly #keyframeRequests: Array<() => void> = [];
  readonly #closeListeners = new Set<(publisher: WhipPublisher) => void>();
  readonly #clock = new SessionClock();
  readonly #trackKinds = new Map<RtpClock, string>();

  static async create(options: WhipPublisherOptions): Promise<WhipPublisher> {
    const publisher = new WhipPublisher(options);
    try {
      await publisher.#negotiate();
      return publisher;
    } catch (error) {
      publisher.close(`negotiation failed: ${(error as Error).message}`);
      throw asOfferError(error);
    }
  }

  private constructor(options: WhipPublisherOptions) {
    this.#options = options;
    const media = checkPublishOffer(parseOffer(options.offerSdp));
    this.#muxer = new TsMuxer({ video: media.video, ...(media.audio ? { audio: { channels: 2 } } : {}) });
    this.#pc = options.peers.create();
    this.#logger = options.logger.child({ stream: options.streamName, session: this.id, via: "whip" });
  }

  get closed(): boolean {
    return this.closeReason !== undefined;
  }

  onClose(listener: (publisher: WhipPublisher) => void): void {
    if (this.closed) listener(this);
    else this.#closeListeners.add(listener);
  }

  async addCandidates(fragment: string): Promise<void> {
    await addTrickleCandidates(this.#pc, fragment);
  }

  /** Asks the publisher for a keyframe (RTCP PLI, RFC 4585 6.3.1). */
  requestKeyframe(): void {
    for (const request of this.#keyframeRequests) request();
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closeReason = reason;
    for (const timer of this.#timers) clearInterval(timer);
    this.session?.end("finished"); // no-op when it already ended (replaced, shutdown)
    this.#pc.close().catch((error: Error) =>
      this.#logger.warn("peer connection close failed", { error: error.message })
    );
    this.#logger.info("publisher closed", { reason });
    for (const listener of this.#closeListeners) listener(this);
    this.#closeListeners.clear();
  }

  async #negotiate(): Promise<void> {
    const pc = this.#pc;
    // werift creates the transceivers, and fires their onTrack, inside setRemoteDescription.
    const { unSubscribe } = pc.onRemoteTransceiverAdded.subscribe((transceiver) => this.#receive(transceiver));
    await pc.setRemoteDescription({ type: "offer", sdp: withoutMdnsCandidates(this.#options.offerSdp) });
    unSubscribe();
    this.#watchConnection();
    this.#options.peers.prepareAnswer(pc);
    await pc.setLocalDescription(await pc.createAnswer());
    await gatheringComplete(pc);
    if (this.closed) throw new Error(`publisher closed while negotiating (${this.closeReason})`);
    this.answerSdp = this.#options.peers.finishAnswer(pc.localDescription!.sdp);
    this.#startSession();
    if (this.#options.keyframeIntervalMs > 0) {
      this.#timers.push(setInterval(() => this.requestKeyframe(), this.#options.keyframeIntervalMs));
    }
  }

  /** The ingest session starts at the answer: a WHEP POST made right after it waits for its output. */
  #startSession(): void {
    const session = this.#options.registry.startSession(this.#options.streamName, this.#options.publish);
    this.session = session;
    session.onEnd((reason) => this.close(`ingest session ended (${reason})`));
    session.setKeyframeSource(() => this.requestKeyframe());
    session.avSync = { method: "arrival" }; // until the sender reports are in (SessionClock)
    // Tracks are known from the SDP: publish the PAT/PMT now so viewers can negotiate at once.
    session.write(this.#muxer.programTables());
  }

  #receive(transceiver: RTCRtpTransceiver): void {
    transceiver.setDirection("recvonly");
    const jitter = new JitterBuffer();
    const clock = this.#clock.track(transceiver.kind === "video" ? 90_000 : 48_000);
    this.#trackKinds.set(clock, transceiver.kind);
    const depacketizer = transceiver.kind === "video"
      ? new H264Depacketizer(clock, { onKeyframeNeeded: () => this.requestKeyframe() })
      : new OpusDepacketizer(clock);
    const deliver = (items: RtpItem[]) => {
      for (const item of items) for (const unit of depacketizer.push(item)) this.#write(unit);
    };
    transceiver.onTrack.subscribe((track) => {
      if (transceiver.kind === "video") {
        this.#keyframeRequests.push(() => {
          if (track.ssrc) transceiver.receiver.sendRtcpPLI(track.ssrc).catch(() => {});
        });
      }
      track.onReceiveRtp.subscribe((rtp: RtpPacket) => deliver(jitter.push(rtp)));
      track.onReceiveRtcp.subscribe((rtcp) => this.#onSenderReport(clock, rtcp));
    });
    this.#timers.push(setInterval(() => deliver(jitter.poll()), JITTER_POLL_MS));
  }

  /** RFC 3550 6.4.1 sender reports place the tracks by capture time (SessionClock); said once when they do. */
  #onSenderReport(clock: RtpClock, rtcp: RtcpPacket): void {
    if (rtcp.type !== RtcpSrPacket.type) return;
    const { ntpTimestamp, rtpTimestamp } = (rtcp as RtcpSrPacket).senderInfo;
    const aligned = this.#clock.srCorrectionMs !== undefined;
    this.#clock.senderReport(clock, msFromNtp(ntpTimestamp), rtpTimestamp);
    const corrections = this.#clock.srCorrectionMs;
    if (aligned || !corrections || !this.session) return;
    const movedMs = Object.fromEntries(
      [...corrections].map(([track, ms]) => [this.#trackKinds.get(track) ?? "track", Math.round(ms * 10) / 10]),
    );
    const applied = Math.max(...corrections.values()) <= MAX_SR_CORRECTION_MS;
    this.session.avSync = applied ? { method: "sender reports", movedMs } : { method: "arrival", movedMs };
    this.#logger.info(
      applied ? "tracks placed by sender reports (ms later)" : "sender reports too far from arrival: not used",
      movedMs,
    );
  }

  #write(unit: AccessUnit): void {
    const session = this.session;
    if (this.closed || !session || session.ended) return;
    session.write(this.#muxer.push(unit));
  }

  #watchConnection(): void {
    const timeoutMs = this.#options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const timer = setTimeout(() => this.close(`not connected after ${timeoutMs} ms`), timeoutMs);
    this.#pc.connectionStateChange.subscribe((state) => {
      if (state === "connected") {
        clearTimeout(timer);
        this.#logger.info("publisher connected");
        this.requestKeyframe();
      } else if (state === "failed" || state === "closed") {
        clearTimeout(timer);
        this.close(`peer connection ${state}`);
      }
    });
    this.onClose(() => clearTimeout(timer));
  }
}

/** A publish offer must send H.264 (packetization-mode 1) and/or Opus; anything else is refused with the reason. */
export function checkPublishOffer(media: OfferedMedia[]): { video: boolean; audio: boolean } {
  const sends = (m: OfferedMedia) => m.port !== 0 && (m.direction === "sendonly" || m.direction === "sendrecv");
  const video = media.find((m) => m.kind === "video" && sends(m));
  const audio = media.find((m) => m.kind === "audio" && sends(m));
  if (video && !video.h264Mode1) {
    throw new UnprocessableError(
      `Wisp needs H.264 (packetization-mode=1) video; the offer has ${video.codecs.join(", ") || "no codec"}`,
    );
  }
  if (audio && !audio.codecs.includes("opus")) {
    throw new UnprocessableError(`Wisp needs Opus audio; the offer has ${audio.codecs.join(", ") || "no codec"}`);
  }
  if (!video && !audio) {
    throw new UnprocessableError("the offer sends no audio or video (direction sendonly or sendrecv)");
  }
  return { video: !!video, audio: !!audio };
}

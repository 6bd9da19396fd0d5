import type { AccessUnit, TrackInfo, VideoAccessUnit } from "../accessUnit.ts";
import type { Logger } from "../logger.ts";
import { type DemuxError, type DemuxEvent, TsDemuxer } from "../mpegts/tsDemuxer.ts";
import { H264Packetizer } from "../rtp/h264Packetizer.ts";
import { OpusPacketizer } from "../rtp/opusPacketizer.ts";
import { MediaClock } from "./mediaClock.ts";
import { frameBytes, type MediaFrame } from "./mediaFrame.ts";
import { RateMeter } from "./rateMeter.ts";
import { VideoProbe } from "./videoProbe.ts";
import { ViewerFeed } from "./viewerFeed.ts";

/** Largest GOP kept for fast start: 8 s at 3 Mbit/s. */
const MAX_GOP_CACHE_BYTES = 3_000_000;

export interface StreamOutputOptions {
  logger: Logger;
  now?: () => number;
}

export interface SubscribeOptions {
  /** Start with the current GOP (queued first in the feed) instead of waiting for the next keyframe. */
  fastStart?: boolean;
  /** See ViewerFeedOptions.onReadable. */
  onReadable?: () => void;
}

/** What playback needs to know about a stream, for the API and the WHEP answer. */
export interface OutputInfo {
  tracks: TrackInfo[];
  video: { width: number; height: number; profile: string } | undefined;
  warnings: string[];
  bitrateBps: number;
  bytesIn: number;
  /** RTP packets made (once for all viewers). */
  packetsOut: number;
  decodeErrors: number;
}

/**
 * The single output of one ingest session: MPEG-TS bytes in, demuxed and
 * packetized ONCE, fanned out to every viewer's bounded ViewerFeed.
 * write() is synchronous and never waits for viewers (DESIGN.md: demux once
 * per stream, only per-viewer parts per viewer).
 */
export class StreamOutput {
  readonly #logger: Logger;
  readonly #demuxer: TsDemuxer;
  readonly #h264: H264Packetizer;
  readonly #opus = new OpusPacketizer();
  /** PTS -> wall clock, shared by the tracks: what sender reports are computed from. */
  readonly #clock = new MediaClock();
  readonly #feeds = new Set<ViewerFeed>();
  readonly #rate: RateMeter;
  readonly #video = new VideoProbe();
  #tracks: TrackInfo[] | undefined;
  /** Video frames from the latest keyframe on: what a joining viewer needs to show a picture at once. */
  #gop: MediaFrame[] = [];
  #gopBytes = 0;
  #closed = false;
  #bytesIn = 0;
  #packetsOut = 0;
  #rotation = 0;
  #decodeErrors = 0;
  #sawKeyframe = false;
  /** PTS (90 kHz) of the latest frame out: the pipeline's input-to-output latency is measured against it. */
  #lastPts: number | undefined;
  #ready: { promise: Promise<TrackInfo[]>; resolve: (t: TrackInfo[]) => void; reject: (e: Error) => void };

  constructor(options: StreamOutputOptions) {
    this.#logger = options.logger;
    this.#rate = new RateMeter(options.now ?? performance.now.bind(performance));
    this.#demuxer = new TsDemuxer({ onDecodeError: (error) => this.#onDecodeError(error) });
    this.#h264 = new H264Packetizer({
      onDecodeError: (error) => {
        this.#decodeErrors++;
        // An IDR without SPS/PPS is one viewers cannot start on: worth a warning.
        this.#logger[error.kind === "no-parameter-sets" ? "warn" : "debug"]("h264 packetizing problem", {
          detail: error.message,
        });
      },
    });
    this.#ready = Promise.withResolvers<TrackInfo[]>();
    this.#ready.promise.catch(() => {}); // a session may end before any waiter asked
  }

  /** Tracks from the PMT; undefined until the first PMT arrived. */
  get tracks(): TrackInfo[] | undefined {
    return this.#tracks;
  }

  /** Viewers can start on it: the program is known and, with video, a first keyframe came (so a joiner gets a picture at once). */
  get ready(): boolean {
    return !this.#closed && this.#tracks !== undefined && (!this.hasVideo || this.#sawKeyframe);
  }

  /** PTS of the latest frame out, 90 kHz; undefined before the first. */
  get lastPts(): number | undefined {
    return this.#lastPts;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get hasVideo(): boolean {
    return this.#tracks?.some((t) => t.kind === "video" && t.playable) ?? false;
  }

  get hasAudio(): boolean {
    return this.#tracks?.some((t) => t.kind === "audio" && t.playable) ?? false;
  }

  /** Feeds subscribed now (viewers, and whatever else watches the output). */
  get feedCount(): number {
    return this.#feeds.size;
  }

  /** Resolves with the tracks once the output is `ready`; rejects if the output closes first. */
  whenReady(): Promise<TrackInfo[]> {
    return this.#ready.promise;
  }

  info(): OutputInfo {
    return {
      tracks: this.#tracks ?? [],
      video: this.#video.resolution,
      warnings: this.#video.warnings,
      bitrateBps: this.#rate.bitsPerSecond(),
      bytesIn: this.#bytesIn,
      packetsOut: this.#packetsOut,
      decodeErrors: this.#decodeErrors,
    };
  }

  /** MPEG-TS bytes in any chunking. Never blocks; ignored after close. */
  write(chunk: Uint8Array): void {
    if (this.#closed) return;
    this.#bytesIn += chunk.byteLength;
    this.#rate.add(chunk.byteLength);
    this.#handle(this.#demuxer.push(chunk));
  }

  /** End of input: emits what the demuxer still holds; feeds may still be read for what they have queued. */
  end(): void {
    if (this.#closed) return;
    this.#handle(this.#demuxer.flush());
    this.#shutDown((feed) => feed.finish());
  }

  /** Closes at once: every feed ends now (its `done` settles). */
  close(): void {
    this.#shutDown((feed) => feed.close());
  }

  #shutDown(endFeed: (feed: ViewerFeed) => void): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#gop = [];
    this.#ready.reject(new Error("the output ended before it had a program map (PMT) and a first keyframe"));
    for (const feed of [...this.#feeds]) endFeed(feed);
  }

  /**
   * A new viewer feed. With `fastStart` it holds the current GOP (from the
   * latest keyframe) first and then gets everything live; otherwise it starts
   * at the next keyframe. After the end of the stream it is closed at once.
   */
  subscribe(maxQueueBytes: number, options: SubscribeOptions = {}): ViewerFeed {
    const feedOptions = { maxQueueBytes, ...(options.onReadable ? { onReadable: options.onReadable } : {}) };
    const feed = new ViewerFeed(feedOptions, (f) => this.#feeds.delete(f));
    if (this.#closed) {
      feed.close();
      return feed;
    }
    if (options.fastStart) feed.startWith(this.#gop);
    this.#feeds.add(feed);
    return feed;
  }

  #handle(events: DemuxEvent[]): void {
    for (const event of events) {
      if (event.type === "tracks") this.#onTracks(event.tracks);
      else this.#onUnit(event.unit);
    }
  }

  #onTracks(tracks: TrackInfo[]): void {
    const first = this.#tracks === undefined;
    this.#tracks = tracks;
    const listed = tracks.map((t) => `${t.codec}${t.playable ? "" : " (not playable)"}`).join(", ");
    this.#logger.info(first ? "program map received" : "program map changed", { tracks: listed });
    for (const track of tracks) {
      if (!track.playable) {
        this.#logger.warn("track not playable over WebRTC", { pid: track.pid, reason: track.reason });
      }
    }
    if (first) this.#resolveWhenReady();
  }

  #resolveWhenReady(): void {
    if (this.ready) this.#ready.resolve(this.#tracks!);
  }

  #onUnit(unit: AccessUnit): void {
    const frame = unit.track === "video" ? this.#videoFrame(unit) : this.#audioFrame(unit);
    if (!frame || frame.packets.length === 0) return;
    this.#packetsOut += frame.packets.length;
    this.#lastPts = frame.pts;
    if (frame.track === "video") this.#remember(frame);
    if (frame.keyframe && frame.track === "video" && !this.#sawKeyframe) {
      this.#sawKeyframe = true;
      this.#resolveWhenReady();
    }
    const hasVideo = this.hasVideo;
    // Who is offered a frame first is sent it first: rotate, so no viewer is always last.
    const feeds = [...this.#feeds];
    const first = this.#rotation++ % Math.max(1, feeds.length);
    for (let i = 0; i < feeds.length; i++) feeds[(first + i) % feeds.length]!.offer(frame, hasVideo);
  }

  #remember(frame: MediaFrame): void {
    if (frame.keyframe) {
      this.#gop = [];
      this.#gopBytes = 0;
    }
    if (this.#gop.length === 0 && !frame.keyframe) return;
    this.#gop.push(frame);
    this.#gopBytes += frame.bytes;
    // A GOP too long to send at once is not worth holding: joiners wait for the next keyframe.
    if (this.#gopBytes > MAX_GOP_CACHE_BYTES) {
      this.#gop = [];
      this.#gopBytes = 0;
    }
  }

  #videoFrame(unit: VideoAccessUnit): MediaFrame | undefined {
    const warning = this.#video.inspect(unit);
    if (warning) this.#logger.warn(warning);
    const packets = this.#h264.packetize(unit);
    return {
      track: "video",
      keyframe: unit.keyframe,
      pts: unit.pts,
      mediaTimeMs: this.#clock.observe(unit.pts),
      packets,
      bytes: frameBytes(packets),
    };
  }

  #audioFrame(unit: AccessUnit & { track: "audio" }): MediaFrame {
    const packets = this.#opus.packetize(unit);
    return {
      track: "audio",
      keyframe: true,
      pts: unit.pts,
      mediaTimeMs: this.#clock.observe(unit.pts),
      packets,
      bytes: frameBytes(packets),
    };
  }

  #onDecodeError(error: DemuxError): void {
    this.#decodeErrors++;
    // Counted always; logged at debug only: a damaged input can produce thousands.
    this.#logger.debug("demux error", { kind: error.kind, pid: error.pid, detail: error.message });
  }
}

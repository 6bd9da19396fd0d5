import { Counter, Histogram, type Registry as PromRegistry } from "prom-client";
import type { StreamEvent, StreamEvents } from "../streamEvents.ts";
import type { ViewerTable } from "../webrtc/viewerTable.ts";
import type { WhepViewer } from "../webrtc/whepViewer.ts";
import { viewerCounts, type ViewerTotals } from "./viewerTotals.ts";

/** Buckets in seconds. A WHEP viewer's first packet: ~0.2 s on loopback (FACTS.md), longer over real networks. */
const FIRST_PACKET_BUCKETS = [0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10];
/** First decoded frame as the player saw it: waiting for a keyframe can add a GOP. */
const FIRST_FRAME_BUCKETS = [0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10];
/** A viewer's session: from a glance to a long evening. */
const SESSION_BUCKETS = [1, 5, 15, 30, 60, 300, 900, 1800, 3600, 10_800, 43_200];
/** Reasons a stream ends, as a bounded label; longer reasons ("finished; no publisher came back ...") by their first word. */
const END_REASONS = new Set(["finished", "replaced", "error", "idle", "shutdown", "deleted"]);

export interface SessionMetricsSources {
  events: StreamEvents;
  viewers: ViewerTable;
  totals: ViewerTotals;
  /** Whether a stream of this name is live now (a viewer leaving after its stream ended adds to nothing). */
  isLive(stream: string): boolean;
}

/**
 * What happens over time, counted as it happens from the stream events
 * (lib/streamEvents.ts), so it survives the streams: streams started and
 * ended, viewers joined and left, pipeline swaps; and per viewer, the
 * histograms of its time to first packet (server side), its time to first
 * frame (its player's report) and its session's length.
 */
export class SessionMetrics {
  readonly #sources: SessionMetricsSources;
  readonly #unsubscribe: () => void;
  readonly #streamsStarted: Counter;
  readonly #streamsEnded: Counter;
  readonly #viewersJoined: Counter;
  readonly #viewersLeft: Counter;
  readonly #swaps: Counter;
  readonly #firstPacket: Histogram;
  readonly #firstFrame: Histogram;
  readonly #sessionLength: Histogram;

  constructor(prom: PromRegistry, sources: SessionMetricsSources) {
    this.#sources = sources;
    const registers = [prom];
    const counter = (name: string, help: string, labelNames: string[] = []) =>
      new Counter({ name, help, labelNames, registers });
    const histogram = (name: string, help: string, buckets: number[]) =>
      new Histogram({ name, help, buckets, registers });
    this.#streamsStarted = counter("wisp_streams_started_total", "Streams that began (a first publish of a name).");
    this.#streamsEnded = counter("wisp_streams_ended_total", "Streams that ended, by reason.", ["reason"]);
    this.#viewersJoined = counter("wisp_viewers_joined_total", "WHEP viewers that joined.");
    this.#viewersLeft = counter("wisp_viewers_left_total", "WHEP viewers that left.");
    this.#swaps = counter("wisp_pipeline_swaps_total", "Pipeline attempts begun after the first (restarts, swaps).");
    this.#firstPacket = histogram(
      "wisp_viewer_time_to_first_packet_seconds",
      "From a WHEP viewer's negotiation to its first RTP packet, server side.",
      FIRST_PACKET_BUCKETS,
    );
    this.#firstFrame = histogram(
      "wisp_viewer_time_to_first_frame_seconds",
      "From the WHEP POST to the first decoded frame, as the viewer's player reported it.",
      FIRST_FRAME_BUCKETS,
    );
    this.#sessionLength = histogram(
      "wisp_viewer_session_seconds",
      "How long WHEP viewer sessions lasted.",
      SESSION_BUCKETS,
    );
    this.#unsubscribe = sources.events.on((event) => this.#count(event));
  }

  close(): void {
    this.#unsubscribe();
  }

  #count(event: StreamEvent): void {
    switch (event.type) {
      case "stream.started":
        return this.#streamsStarted.inc();
      case "stream.ended":
        this.#sources.totals.forget(event.stream);
        return this.#streamsEnded.inc({ reason: endReasonLabel(event.reason) });
      case "viewer.joined":
        this.#viewersJoined.inc();
        return this.#watch(this.#sources.viewers.get(event.stream, event.viewerId));
      case "viewer.left":
        return this.#viewersLeft.inc();
      case "pipeline.swapped":
        return this.#swaps.inc();
    }
  }

  /** A viewer that joined: its first packet, its player's first frame and its end are observed as they come. */
  #watch(viewer: WhepViewer | undefined): void {
    if (!viewer) return;
    const { quality } = viewer;
    quality.onFirstPacket((ms) => this.#firstPacket.observe(ms / 1000));
    quality.onPlayerReport((report, previous) => {
      if (report.timeToFirstFrameMs !== undefined && previous?.timeToFirstFrameMs === undefined) {
        this.#firstFrame.observe(report.timeToFirstFrameMs / 1000);
      }
    });
    viewer.onClose(() => {
      this.#sessionLength.observe((Date.now() - quality.createdAt.getTime()) / 1000);
      const { streamName } = viewer;
      if (this.#sources.isLive(streamName)) this.#sources.totals.addEnded(streamName, viewerCounts(viewer));
    });
  }
}

function endReasonLabel(reason: string): string {
  const first = /^[a-z]+/.exec(reason)?.[0] ?? "";
  return END_REASONS.has(first) ? first : "other";
}

import { Counter, Gauge, type Registry as PromRegistry } from "prom-client";
import type { Registry } from "../registry.ts";
import type { ViewerTable } from "../webrtc/viewerTable.ts";
import { setCounter } from "./setCounter.ts";
import type { ViewerCounts, ViewerTotals } from "./viewerTotals.ts";

/** Per-stream counters summed over its viewers: metric name, help, and which count. */
const VIEWER_SUMS: ReadonlyArray<[name: string, help: string, count: keyof ViewerCounts, scale?: number]> = [
  ["wisp_stream_bytes_out_total", "RTP payload bytes sent to the stream's viewers.", "bytesSent"],
  ["wisp_stream_packets_out_total", "RTP packets sent to the stream's viewers.", "packetsSent"],
  ["wisp_stream_frames_out_total", "Frames sent to the stream's viewers.", "framesSent"],
  [
    "wisp_stream_viewer_dropped_frames_total",
    "Frames the viewers' queues skipped because a viewer fell behind (VIEWER_QUEUE_BYTES).",
    "droppedFrames",
  ],
  ["wisp_stream_nack_resends_total", "Packets resent to viewers on their NACKs.", "retransmitted"],
  ["wisp_stream_nacks_received_total", "RTCP Generic NACK messages received from viewers.", "nacks"],
  ["wisp_stream_player_stalls_total", "Stalls the viewers' players reported.", "stalls"],
  ["wisp_stream_player_stalled_seconds_total", "Time the viewers' players reported stalled.", "stalledMs", 1 / 1000],
];

export interface StreamMetricsSources {
  registry: Registry;
  viewers: ViewerTable;
  totals: ViewerTotals;
}

/**
 * Per live stream (label `stream`), read at scrape time from the registry
 * and the viewer table, so nothing is counted per packet for them and a
 * stream's series leave with it: viewers, input bitrate and bytes, RTP
 * packets made, decode errors, the viewers' queues, and what was sent to
 * its viewers (ViewerTotals: those that left included).
 */
export class StreamMetrics {
  readonly #sources: StreamMetricsSources;
  readonly #perStream: Array<Gauge | Counter> = [];
  readonly #viewers: Gauge;
  readonly #bitrateIn: Gauge;
  readonly #queuedFrames: Gauge;
  readonly #bytesIn: Counter;
  readonly #rtpPackets: Counter;
  readonly #decodeErrors: Counter;
  readonly #keyframeRequests: Counter;
  readonly #viewerSums: Array<{ counter: Counter; count: keyof ViewerCounts; scale: number }>;
  readonly #totals: { streams: Gauge; viewers: Gauge; waiting: Gauge };

  constructor(prom: PromRegistry, sources: StreamMetricsSources) {
    this.#sources = sources;
    const registers = [prom];
    const gauge = (name: string, help: string) =>
      this.#add(new Gauge({ name, help, labelNames: ["stream"], registers }));
    const counter = (name: string, help: string, labelNames = ["stream"]) =>
      this.#add(new Counter({ name, help, labelNames, registers }));
    this.#viewers = gauge("wisp_stream_viewers", "WHEP viewers of the stream now.");
    this.#bitrateIn = gauge("wisp_stream_bitrate_in_bits_per_second", "The stream's MPEG-TS bitrate over 5 s.");
    this.#queuedFrames = gauge("wisp_stream_viewer_queued_frames", "Frames waiting in the viewers' queues now.");
    this.#bytesIn = counter("wisp_stream_bytes_in_total", "MPEG-TS bytes of the stream's current publish.");
    this.#rtpPackets = counter(
      "wisp_stream_rtp_packets_total",
      "RTP packets made from the stream (once for all viewers).",
    );
    this.#decodeErrors = counter("wisp_stream_decode_errors_total", "MPEG-TS and H.264 problems in the stream.");
    this.#keyframeRequests = counter(
      "wisp_stream_keyframe_requests_total",
      "Keyframe requests received from viewers: RTCP PLI and FIR.",
      ["stream", "type"],
    );
    this.#viewerSums = VIEWER_SUMS.map(([name, help, count, scale = 1]) => ({
      counter: counter(name, help),
      count,
      scale,
    }));
    this.#totals = {
      streams: new Gauge({ name: "wisp_streams", help: "Live streams now.", registers }),
      viewers: new Gauge({ name: "wisp_viewers", help: "WHEP viewers now, all streams.", registers }),
      waiting: new Gauge({ name: "wisp_whep_waiting_requests", help: "WHEP POSTs waiting for a stream.", registers }),
    };
  }

  refresh(): void {
    const { registry, viewers, totals } = this.#sources;
    const streams = registry.list();
    for (const metric of this.#perStream) metric.reset(); // ended streams' series go
    totals.keepOnly(new Set(streams.map((s) => s.name)));
    for (const stream of streams) {
      const labels = { stream: stream.name };
      const live = viewers.list(stream.name);
      const info = stream.output?.info();
      this.#viewers.set(labels, live.length);
      this.#bitrateIn.set(labels, info?.bitrateBps ?? 0);
      this.#queuedFrames.set(labels, live.reduce((sum, viewer) => sum + viewer.stats().queuedFrames, 0));
      setCounter(this.#bytesIn, stream.input?.bytesIn ?? 0, labels);
      setCounter(this.#rtpPackets, info?.packetsOut ?? 0, labels);
      setCounter(this.#decodeErrors, info?.decodeErrors ?? 0, labels);
      const sums = totals.total(stream.name, live);
      for (const { counter, count, scale } of this.#viewerSums) setCounter(counter, sums[count] * scale, labels);
      setCounter(this.#keyframeRequests, sums.plis, { ...labels, type: "pli" });
      setCounter(this.#keyframeRequests, sums.firs, { ...labels, type: "fir" });
    }
    this.#totals.streams.set(streams.length);
    this.#totals.viewers.set(viewers.size);
    this.#totals.waiting.set(registry.waitingCount);
  }

  #add<T extends Gauge | Counter>(metric: T): T {
    this.#perStream.push(metric);
    return metric;
  }
}

import { Registry as PromRegistry } from "prom-client";
import type { WebhookSender } from "../events/webhookSender.ts";
import type { Registry } from "../registry.ts";
import type { UdpMux } from "../udp/udpMux.ts";
import type { ViewerTable } from "../webrtc/viewerTable.ts";
import { HttpMetrics } from "./httpMetrics.ts";
import { ProcessMetrics } from "./processMetrics.ts";
import { SessionMetrics } from "./sessionMetrics.ts";
import { StreamMetrics } from "./streamMetrics.ts";
import { UdpMetrics } from "./udpMetrics.ts";
import { ViewerTotals } from "./viewerTotals.ts";
import { WebhookMetrics } from "./webhookMetrics.ts";

export interface WispMetricsSources {
  registry: Registry;
  viewers: ViewerTable;
  /** The UDP mux, when there is one (WEBRTC_UDP_ADDR). */
  mux: UdpMux | undefined;
  /** The webhook sender, when WEBHOOK_URL is set. */
  webhooks: WebhookSender | undefined;
  /** "bun 1.4.5", "deno 2.9.6". */
  runtimeName: string;
}

/**
 * Everything GET /metrics shows, in the Prometheus text exposition format
 * (prom-client, its own registry per server): per stream, read at scrape
 * time; over time, counted from stream events; the process, the UDP mux,
 * HTTP requests and webhooks. close() stops its one timer (the event-loop
 * sampler) and its event subscription.
 */
export class WispMetrics {
  readonly #prom = new PromRegistry();
  readonly #process: ProcessMetrics;
  readonly #streams: StreamMetrics;
  readonly #sessions: SessionMetrics;
  readonly #udp: UdpMetrics | undefined;
  readonly #webhooks: WebhookMetrics | undefined;
  readonly #http: HttpMetrics;

  constructor(sources: WispMetricsSources) {
    const { registry, viewers } = sources;
    const totals = new ViewerTotals();
    this.#process = new ProcessMetrics(this.#prom, sources.runtimeName);
    this.#streams = new StreamMetrics(this.#prom, { registry, viewers, totals });
    this.#sessions = new SessionMetrics(this.#prom, {
      events: registry.events,
      viewers,
      totals,
      isLive: (stream) => registry.stream(stream) !== undefined,
    });
    this.#udp = sources.mux && new UdpMetrics(this.#prom, sources.mux);
    this.#webhooks = sources.webhooks && new WebhookMetrics(this.#prom, sources.webhooks);
    this.#http = new HttpMetrics(this.#prom);
  }

  /** The Content-Type of render()'s text: `text/plain; version=0.0.4; charset=utf-8`. */
  get contentType(): string {
    return this.#prom.contentType;
  }

  /** One answered HTTP request (routes/httpMetrics.ts). */
  countRequest(method: string, route: string, status: number): void {
    this.#http.count(method, route, status);
  }

  /** Every metric now, as Prometheus text. */
  async render(): Promise<string> {
    this.#process.refresh();
    this.#streams.refresh();
    this.#udp?.refresh();
    this.#webhooks?.refresh();
    return await this.#prom.metrics();
  }

  close(): void {
    this.#process.close();
    this.#sessions.close();
  }
}

import { Counter, type Registry } from "prom-client";

/** Methods counted by name; anything else a client sends is "other", so no client can grow the label set. */
const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/**
 * HTTP requests by method, route and status. The route is the pattern that
 * answered (`/whep/:stream`), never the raw path, so the label set is
 * bounded by the routes Wisp has, whatever clients ask for.
 */
export class HttpMetrics {
  readonly #requests: Counter;

  constructor(registry: Registry) {
    this.#requests = new Counter({
      name: "wisp_http_requests_total",
      help: "HTTP requests answered, by method, route pattern and status.",
      labelNames: ["method", "route", "status"],
      registers: [registry],
    });
  }

  /** One answered request; `route` is a registered pattern ("unmatched" when none answered). */
  count(method: string, route: string, status: number): void {
    const knownMethod = KNOWN_METHODS.has(method) ? method : "other";
    this.#requests.inc({ method: knownMethod, route, status: String(status) });
  }
}

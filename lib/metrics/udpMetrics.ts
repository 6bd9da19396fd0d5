import { Counter, Gauge, type Registry } from "prom-client";
import type { UdpMux } from "../udp/udpMux.ts";
import { setCounter } from "./setCounter.ts";

/**
 * The UDP mux's counters (what GET /api/udp shows), read at scrape time:
 * datagrams and batches sent, kernel messages, retries, errors, datagrams
 * refused, and the peers and routes it holds now.
 */
export class UdpMetrics {
  readonly #mux: UdpMux;
  readonly #datagrams: Counter;
  readonly #batches: Counter;
  readonly #messages: Counter;
  readonly #retries: Counter;
  readonly #errors: Counter;
  readonly #refused: Counter;
  readonly #peers: Gauge;
  readonly #routes: Gauge;

  constructor(registry: Registry, mux: UdpMux) {
    this.#mux = mux;
    const registers = [registry];
    const counter = (name: string, help: string, labelNames: string[] = []) =>
      new Counter({ name, help, labelNames, registers });
    this.#datagrams = counter("wisp_udp_datagrams_sent_total", "Datagrams sent on the UDP mux.");
    this.#batches = counter("wisp_udp_batches_total", "Send batches flushed (one sendmmsg or sendMany each).");
    this.#messages = counter("wisp_udp_messages_sent_total", "Messages handed to the kernel (a GSO run is one).");
    this.#retries = counter("wisp_udp_send_retries_total", "Batch sends retried after a departed peer's ICMP error.");
    this.#errors = counter("wisp_udp_errors_total", "Socket errors and datagrams that could not be sent.", ["kind"]);
    this.#refused = counter(
      "wisp_udp_refused_total",
      "First datagrams dropped: no live connection's ufrag, or a bad MESSAGE-INTEGRITY.",
      ["reason"],
    );
    this.#peers = new Gauge({ name: "wisp_udp_peers", help: "Connections on the UDP mux.", registers });
    this.#routes = new Gauge({ name: "wisp_udp_routes", help: "Remote addresses routed to a connection.", registers });
  }

  refresh(): void {
    const mux = this.#mux;
    const { stats } = mux;
    setCounter(this.#datagrams, stats.datagramsSent);
    setCounter(this.#batches, stats.batches);
    setCounter(this.#messages, mux.messagesSent);
    setCounter(this.#retries, stats.sendRetries);
    setCounter(this.#errors, stats.socketErrors, { kind: "socket" });
    setCounter(this.#errors, stats.sendFailures, { kind: "send_failure" });
    setCounter(this.#refused, stats.unroutable, { reason: "unroutable" });
    setCounter(this.#refused, stats.integrityRefused, { reason: "integrity" });
    this.#peers.set(mux.transportCount);
    this.#routes.set(mux.routeCount);
  }
}

import { Counter, Gauge, type Registry } from "prom-client";
import type { WebhookSender } from "../events/webhookSender.ts";
import { setCounter } from "./setCounter.ts";

/** The webhook sender's counters (WEBHOOK_URL), read at scrape time. */
export class WebhookMetrics {
  readonly #sender: WebhookSender;
  readonly #events: Counter;
  readonly #retries: Counter;
  readonly #queued: Gauge;

  constructor(registry: Registry, sender: WebhookSender) {
    this.#sender = sender;
    const registers = [registry];
    this.#events = new Counter({
      name: "wisp_webhook_events_total",
      help: "Webhook events by outcome: delivered, failed (after every attempt), dropped (queue full).",
      labelNames: ["result"],
      registers,
    });
    this.#retries = new Counter({ name: "wisp_webhook_retries_total", help: "Webhook attempts retried.", registers });
    this.#queued = new Gauge({
      name: "wisp_webhook_queue_length",
      help: "Webhook events waiting to be sent.",
      registers,
    });
  }

  refresh(): void {
    const { delivered, failed, dropped, retries } = this.#sender.stats;
    setCounter(this.#events, delivered, { result: "delivered" });
    setCounter(this.#events, failed, { result: "failed" });
    setCounter(this.#events, dropped, { result: "dropped" });
    setCounter(this.#retries, retries);
    this.#queued.set(this.#sender.queueLength);
  }
}

import type { Counter } from "prom-client";

/**
 * Sets a counter whose running total is kept elsewhere (a process's CPU
 * time, a socket's datagrams, a stream's bytes) to that total, at scrape
 * time: nothing is counted per packet for metrics. Without labels the
 * counter holds that one value; with labels, that one series is replaced.
 */
export function setCounter(counter: Counter, value: number, labels?: Record<string, string>): void {
  if (labels) {
    counter.remove(labels);
    counter.inc(labels, value);
  } else {
    counter.reset();
    counter.inc(value);
  }
}

import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { EventLoopDelaySampler } from "./eventLoopDelay.ts";
import { setCounter } from "./setCounter.ts";

/** Event-loop delay buckets, seconds: from a millisecond to a stall that freezes every viewer. */
const EVENT_LOOP_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const MICROSECONDS_PER_SECOND = 1e6;

/**
 * The process: resident memory, CPU time, start time, the runtime, and the
 * event loop's delay, under the names Prometheus' client libraries use for
 * the first three. Read through `process` (memoryUsage.rss, cpuUsage), which
 * Bun and Deno both implement; prom-client's own collectors report nonsense
 * (NaN, Node-only handles) on them.
 */
export class ProcessMetrics {
  readonly #rss: Gauge;
  readonly #cpu: Record<"user" | "system" | "total", Counter>;
  readonly #sampler: EventLoopDelaySampler;

  constructor(registry: Registry, runtimeName: string) {
    const registers = [registry];
    this.#rss = new Gauge({ name: "process_resident_memory_bytes", help: "Resident memory size in bytes.", registers });
    this.#cpu = {
      user: new Counter({ name: "process_cpu_user_seconds_total", help: "User CPU time in seconds.", registers }),
      system: new Counter({ name: "process_cpu_system_seconds_total", help: "System CPU time in seconds.", registers }),
      total: new Counter({
        name: "process_cpu_seconds_total",
        help: "User and system CPU time in seconds.",
        registers,
      }),
    };
    new Gauge({ name: "process_start_time_seconds", help: "Start time of the process, Unix seconds.", registers })
      .set(Math.round(performance.timeOrigin / 1000));
    new Gauge({ name: "wisp_runtime_info", help: "The runtime Wisp runs on.", labelNames: ["runtime"], registers })
      .set({ runtime: runtimeName }, 1);
    const delay = new Histogram({
      name: "wisp_event_loop_delay_seconds",
      help: "How late a timer due every 100 ms fired: how long tasks held the event loop.",
      buckets: EVENT_LOOP_BUCKETS,
      registers,
    });
    this.#sampler = new EventLoopDelaySampler((ms) => delay.observe(ms / 1000));
  }

  /** Reads memory and CPU now (at scrape time). */
  refresh(): void {
    this.#rss.set(process.memoryUsage.rss());
    const { user, system } = process.cpuUsage();
    setCounter(this.#cpu.user, user / MICROSECONDS_PER_SECOND);
    setCounter(this.#cpu.system, system / MICROSECONDS_PER_SECOND);
    setCounter(this.#cpu.total, (user + system) / MICROSECONDS_PER_SECOND);
  }

  close(): void {
    this.#sampler.close();
  }
}

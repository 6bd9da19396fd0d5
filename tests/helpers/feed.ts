import type { IngestSession } from "../../lib/ingest/ingestSession.ts";

const TS_PACKET = 188;

/**
 * Writes an MPEG-TS file into a session at about real time (evenly by bytes
 * over `durationMs`), looping `loops` times; stop() ends it early. A loop
 * restarts timestamps and continuity counters, which the demuxer must survive.
 */
export function feedRealtime(
  session: IngestSession,
  bytes: Uint8Array,
  options: { durationMs: number; loops?: number; tickMs?: number },
): { done: Promise<void>; stop(): void } {
  const tickMs = options.tickMs ?? 20;
  const packets = Math.floor(bytes.byteLength / TS_PACKET);
  const perTick = Math.max(1, Math.round((packets * tickMs) / options.durationMs));
  let offset = 0;
  let loopsLeft = (options.loops ?? 1) - 1;
  // deno-lint-ignore prefer-const -- stop() closes over it before it is set
  let timer: ReturnType<typeof setInterval> | undefined;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const stop = () => {
    clearInterval(timer);
    finish();
  };
  timer = setInterval(() => {
    if (session.ended) return stop();
    const end = Math.min(offset + perTick * TS_PACKET, packets * TS_PACKET);
    session.write(bytes.subarray(offset, end));
    offset = end;
    if (offset < packets * TS_PACKET) return;
    if (loopsLeft-- > 0) offset = 0;
    else stop();
  }, tickMs);
  return { done, stop };
}

import type { Subprocess } from "bun";

/** Child processes the tests started that have not exited yet (a leak check counts them). */
const live = new Set<Subprocess>();

/** Counts `proc` as live until it exits; returns it. */
export function trackChild<T extends Subprocess>(proc: T): T {
  live.add(proc);
  void proc.exited.finally(() => live.delete(proc));
  return proc;
}

export function liveChildCount(): number {
  return live.size;
}

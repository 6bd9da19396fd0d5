import { expect, test } from "bun:test";
import { type Pump, SendScheduler } from "../../lib/pipeline/sendScheduler.ts";

/** A scheduler whose slices run only when the test says so. */
function manualScheduler(packetsPerSlice: number) {
  const deferred: Array<() => void> = [];
  const scheduler = new SendScheduler({ packetsPerSlice, defer: (run) => void deferred.push(run) });
  const runSlice = () => {
    expect(deferred.length).toBeLessThanOrEqual(1); // never more than one slice scheduled
    deferred.shift()?.();
  };
  return { scheduler, runSlice, pendingSlices: () => deferred.length };
}

/** A viewer with `frames` frames of `packets` packets each; records the order it was served in. */
function viewer(name: string, frames: number, packets: number, log: string[]): Pump & { left: number } {
  return {
    failed: (error) => log.push(`${name} failed: ${(error as Error).message}`),
    left: frames,
    get hasPending() {
      return this.left > 0;
    },
    sendNextFrame() {
      if (this.left === 0) return 0;
      this.left--;
      log.push(name);
      return packets;
    },
  };
}

test("viewers are served a frame each, round robin, within a slice's packet budget", () => {
  const log: string[] = [];
  const { scheduler, runSlice, pendingSlices } = manualScheduler(30);
  const [a, b, c] = [viewer("a", 3, 10, log), viewer("b", 3, 10, log), viewer("c", 3, 10, log)];
  for (const v of [a, b, c]) scheduler.wake(v);
  expect(log).toEqual([]); // nothing is sent in the waking turn
  runSlice();
  expect(log).toEqual(["a", "b", "c"]);
  runSlice();
  runSlice();
  expect(log.join("")).toBe("abcabcabc");
  expect(pendingSlices()).toBe(0);
  expect(scheduler.waitingCount).toBe(0);
});

test("a slice stops at its budget and the next slice starts with who was left out", () => {
  const log: string[] = [];
  const { scheduler, runSlice } = manualScheduler(20);
  const vs = ["a", "b", "c", "d", "e"].map((n) => viewer(n, 1, 10, log));
  for (const v of vs) scheduler.wake(v);
  runSlice();
  expect(log).toEqual(["a", "b"]);
  runSlice();
  expect(log).toEqual(["a", "b", "c", "d"]);
  runSlice();
  expect(log).toEqual(["a", "b", "c", "d", "e"]);
});

test("waking a viewer twice gives it one place; a woken viewer with nothing left costs nothing", () => {
  const log: string[] = [];
  const { scheduler, runSlice, pendingSlices } = manualScheduler(100);
  const a = viewer("a", 1, 5, log);
  scheduler.wake(a);
  scheduler.wake(a);
  runSlice();
  expect(log).toEqual(["a"]);
  scheduler.wake(a); // nothing left: served once with 0 packets, then forgotten
  runSlice();
  expect(log).toEqual(["a"]);
  expect(pendingSlices()).toBe(0);
});

test("by default slices run after the current turn (setImmediate), not inside wake()", async () => {
  const log: string[] = [];
  const scheduler = new SendScheduler();
  scheduler.wake(viewer("a", 2, 1, log));
  expect(log).toEqual([]);
  await new Promise((resolve) => setImmediate(resolve));
  expect(log).toEqual(["a"]);
  await new Promise((resolve) => setImmediate(resolve));
  expect(log).toEqual(["a", "a"]);
});

test("a viewer whose send throws is told and left out; the viewers after it in the slice and later slices go on", () => {
  const log: string[] = [];
  const { scheduler, runSlice, pendingSlices } = manualScheduler(100);
  const broken = viewer("b", 3, 10, log);
  broken.sendNextFrame = () => {
    throw new Error("OpenSSL refused");
  };
  const [a, c] = [viewer("a", 2, 10, log), viewer("c", 2, 10, log)];
  for (const v of [a, broken, c]) scheduler.wake(v);
  runSlice();
  expect(log).toEqual(["a", "b failed: OpenSSL refused", "c"]);
  runSlice();
  expect(log.slice(3)).toEqual(["a", "c"]);
  expect(pendingSlices()).toBe(0);
  expect(scheduler.waitingCount).toBe(0);
});

import { describe, expect, test } from "bun:test";
import { Registry } from "../lib/registry.ts";
import { silentLogger } from "../lib/logger.ts";
import { AbortedError, BadRequestError, LimitReachedError, NotFoundError, StaleSessionError } from "../lib/errors.ts";
import { readFixture } from "./fixtures/readFixture.ts";

const AV = readFixture("av.mpegts");

describe("Registry", () => {
  test("every session gets a fresh unguessable request ID", () => {
    const registry = new Registry(silentLogger);
    const ids = new Set<string>();
    for (let i = 0; i < 50; i++) ids.add(registry.startSession("cam").requestId);
    expect(ids.size).toBe(50);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    registry.close();
  });

  test("a second push replaces the first; the stale writer is refused", () => {
    const registry = new Registry(silentLogger);
    const first = registry.startSession("cam");
    const second = registry.startSession("cam");
    expect(first.endReason).toBe("replaced");
    expect(registry.current("cam")).toBe(second);
    expect(() => first.write(new Uint8Array(188))).toThrow(StaleSessionError);
    expect(() => registry.currentWithRequestId("cam", first.requestId)).toThrow(StaleSessionError);
    expect(registry.currentWithRequestId("cam", second.requestId)).toBe(second);
    registry.close();
  });

  test("a finished session leaves the registry (no reconnect grace)", async () => {
    const registry = new Registry(silentLogger);
    registry.startSession("cam").end("finished");
    expect(registry.current("cam")).toBeUndefined();
    await registry.whenEmpty(); // once its pipeline has flushed
    expect(registry.list()).toEqual([]);
  });

  test("rejects unsafe stream names", () => {
    const registry = new Registry(silentLogger);
    for (const name of ["", "../x", "a b", "x".repeat(129), "-lead"]) {
      expect(() => registry.startSession(name)).toThrow(BadRequestError);
    }
  });

  test("waitForOutput resolves when the PMT of a later session arrives", async () => {
    const registry = new Registry(silentLogger);
    const waiting = registry.waitForOutput("cam", { timeoutMs: 5000 });
    const session = registry.startSession("cam");
    session.write(AV.subarray(0, 188 * 50));
    expect((await waiting).input).toBe(session);
    registry.close();
  });

  test("waitForOutput times out with a 404-style error saying what was missing", async () => {
    const registry = new Registry(silentLogger);
    const session = registry.startSession("cam");
    await expect(registry.waitForOutput("cam", { timeoutMs: 20 })).rejects.toThrow(/no program map/);
    await expect(registry.waitForOutput("other", { timeoutMs: 20 })).rejects.toThrow(NotFoundError);
    session.end("finished");
  });

  test("waitForOutput is abandoned when the client goes away", async () => {
    const registry = new Registry(silentLogger);
    const controller = new AbortController();
    const waiting = registry.waitForOutput("cam", { timeoutMs: 60_000, signal: controller.signal });
    controller.abort();
    await expect(waiting).rejects.toThrow(AbortedError);
  });

  test("waitForOutput with an unknown pinned request ID fails at once", async () => {
    const registry = new Registry(silentLogger);
    const session = registry.startSession("cam");
    session.write(AV.subarray(0, 188 * 50));
    await expect(registry.waitForOutput("cam", { timeoutMs: 60_000, requestId: "nope" })).rejects.toThrow(
      NotFoundError,
    );
    const pinned = await registry.waitForOutput("cam", { timeoutMs: 1000, requestId: session.requestId });
    expect(pinned.input).toBe(session);
    registry.close();
  });

  test("viewer slots honour the limit and release once", () => {
    const registry = new Registry(silentLogger);
    const a = registry.reserveViewer("cam", 2);
    registry.reserveViewer("cam", 2);
    expect(() => registry.reserveViewer("cam", 2)).toThrow(LimitReachedError);
    a.release();
    a.release(); // idempotent: must not free a second place
    expect(registry.viewerCount("cam")).toBe(1);
    registry.reserveViewer("cam", 2);
    expect(() => registry.reserveViewer("cam", 2)).toThrow(LimitReachedError);
    for (let i = 0; i < 100; i++) registry.reserveViewer("open", 0); // 0 = unlimited
    expect(registry.viewerCount("open")).toBe(100);
  });
});

describe("IngestSession keyframe requests", () => {
  test("go to the source, at most every 500 ms", () => {
    const registry = new Registry(silentLogger);
    const session = registry.startSession("cam");
    let asked = 0;
    session.requestKeyframe(0); // no source yet: nothing happens
    session.setKeyframeSource(() => asked++);
    session.requestKeyframe(1000);
    session.requestKeyframe(1200);
    session.requestKeyframe(1600);
    expect(asked).toBe(2);
    registry.close();
  });
});

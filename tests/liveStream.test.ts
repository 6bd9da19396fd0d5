import { describe, expect, test } from "bun:test";
import { silentLogger } from "../lib/logger.ts";
import { Registry } from "../lib/registry.ts";
import type { StreamEvent } from "../lib/streamEvents.ts";
import { readFixture } from "./fixtures/readFixture.ts";

const AV = readFixture("av.mpegts");

function registryWithGrace(reconnectGraceMs: number) {
  const registry = new Registry(silentLogger, { reconnectGraceMs });
  const events: string[] = [];
  registry.events.on((event: StreamEvent) => events.push(event.type));
  return { registry, events };
}

describe("LiveStream: a publisher that leaves and comes back", () => {
  test("within the grace: the stream lives on and its next output is the new publish's", async () => {
    const { registry, events } = registryWithGrace(5_000);
    const first = registry.startSession("cam");
    first.write(AV);
    const stream = await registry.waitForOutput("cam", { timeoutMs: 1000 });
    const firstOutput = stream.output!;
    expect(stream.active).toBe(true);
    first.end("finished");
    expect(stream.state).toBe("reconnecting");
    expect(stream.active).toBe(false);
    expect(registry.stream("cam")).toBe(stream);
    expect(registry.current("cam")).toBeUndefined();
    const next = stream.nextOutput(firstOutput); // what a viewer waits on between outputs
    const second = registry.startSession("cam");
    expect(stream.state).toBe("live");
    second.write(AV);
    const secondOutput = await next;
    expect(secondOutput).toBeDefined();
    expect(secondOutput).not.toBe(firstOutput);
    expect(stream.outputRequestId).toBe(second.requestId);
    expect(stream.active).toBe(true);
    expect(registry.stream("cam")).toBe(stream);
    registry.close();
    await registry.whenEmpty();
    expect(stream.active).toBe(false);
    expect(events).toEqual([
      "stream.started",
      "stream.active",
      "stream.inactive",
      "stream.active",
      "stream.inactive",
      "stream.ended",
    ]);
  });

  test("after the grace: the stream ends and a viewer's wait ends with it", async () => {
    const { registry, events } = registryWithGrace(50);
    const session = registry.startSession("cam");
    session.write(AV);
    const stream = await registry.waitForOutput("cam", { timeoutMs: 1000 });
    const output = stream.output!;
    session.end("idle");
    expect(await stream.nextOutput(output)).toBeUndefined();
    expect(stream.endReason).toBe("idle; no publisher came back within 50 ms");
    await registry.whenEmpty();
    expect(events.at(-1)).toBe("stream.ended");
  });

  test("a publish that never had output, or one ended by DELETE or shutdown, ends the stream at once", async () => {
    const { registry } = registryWithGrace(60_000);
    registry.startSession("garbage").end("error"); // never had output: nothing for viewers to hold on to
    await registry.whenEmpty();
    const session = registry.startSession("cam");
    session.write(AV);
    await registry.waitForOutput("cam", { timeoutMs: 1000 });
    session.end("deleted");
    expect(registry.stream("cam")?.ended ?? true).toBe(true);
    await registry.whenEmpty();
  });

  test("a WHEP POST pinned to a request ID does not follow the stream to another publish", async () => {
    const { registry } = registryWithGrace(5_000);
    const first = registry.startSession("cam");
    first.write(AV);
    const stream = await registry.waitForOutput("cam", { timeoutMs: 1000, requestId: first.requestId });
    const pinned = stream.nextOutput(stream.output, { requestId: first.requestId });
    registry.startSession("cam").write(AV);
    expect(await pinned).toBeUndefined();
    registry.close();
  });

  test("a viewer that closes while it waits for the next output ends its wait (the stream still waits)", async () => {
    const { registry } = registryWithGrace(5_000);
    const session = registry.startSession("cam");
    session.write(AV);
    const stream = await registry.waitForOutput("cam", { timeoutMs: 1000 });
    session.end("finished");
    const closing = new AbortController();
    const waiting = stream.nextOutput(stream.output, { signal: closing.signal });
    closing.abort();
    expect(await waiting).toBeUndefined();
    expect(stream.state).toBe("reconnecting");
    registry.close();
  });

  test("while reconnecting, a WHEP wait that times out says so", async () => {
    const { registry } = registryWithGrace(5_000);
    const session = registry.startSession("cam");
    session.write(AV);
    await registry.waitForOutput("cam", { timeoutMs: 1000 });
    session.end("finished");
    await expect(registry.waitForOutput("cam", { timeoutMs: 20 })).rejects.toThrow(
      'stream "cam" is waiting for its publisher to come back after waiting 20 ms',
    );
    registry.close();
  });

  test("a publisher back with a track the stream had not: the stream's warnings say live viewers cannot get it", async () => {
    const { registry } = registryWithGrace(5_000);
    const first = registry.startSession("cam");
    first.write(readFixture("video-only.mpegts"));
    const stream = await registry.waitForOutput("cam", { timeoutMs: 1000 });
    first.end("finished");
    registry.startSession("cam").write(AV);
    await registry.waitForOutput("cam", { timeoutMs: 1000 });
    expect(stream.warnings).toEqual([
      "the new output has audio that the stream had not: viewers who joined before cannot get it (a new WHEP session can)",
    ]);
    registry.close();
  });
});

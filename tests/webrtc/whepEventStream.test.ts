import { afterEach, describe, expect, test } from "bun:test";
import { BadRequestError } from "../../lib/errors.ts";
import { StreamEvents } from "../../lib/streamEvents.ts";
import {
  parseEventRequest,
  WHEP_EVENT_TYPES,
  WhepEventStream,
  type WhepEventStreamOptions,
} from "../../lib/webrtc/whepEventStream.ts";
import { EventStreamReader as EventReader, SSE } from "../helpers/eventStreamReader.ts";

const { retry: RETRY, active: ACTIVE, inactive: INACTIVE, reconnect: RECONNECT, viewercount: count } = SSE;

let open: WhepEventStream[] = [];
afterEach(() => {
  for (const stream of open) stream.close();
  open = [];
});

function eventStream(events: StreamEvents, options: Partial<WhepEventStreamOptions> = {}): WhepEventStream {
  const stream = new WhepEventStream({
    streamName: "cam",
    viewerId: "me",
    events,
    wanted: new Set(WHEP_EVENT_TYPES),
    active: true,
    viewerCount: () => 1,
    ...options,
  });
  open.push(stream);
  return stream;
}

describe("parseEventRequest", () => {
  test("no body asks for every type Wisp sends; the draft's other types are accepted and dropped", () => {
    expect([...parseEventRequest("")]).toEqual([...WHEP_EVENT_TYPES]);
    expect([...parseEventRequest('["active","layers","scte35","viewercount"]')]).toEqual(["active", "viewercount"]);
    expect([...parseEventRequest("[]")]).toEqual([]);
  });

  test("anything else is a bad request that says what to send", () => {
    for (const body of ["{", '{"events":["active"]}', '["active","nope"]', "[1]", '"active"']) {
      expect(() => parseEventRequest(body)).toThrow(BadRequestError);
    }
    expect(() => parseEventRequest('["nope"]')).toThrow(
      'unknown event type "nope": send a JSON array of event types from ["active","inactive","viewercount","reconnect"]',
    );
  });
});

describe("WhepEventStream", () => {
  test("events wait for the GET, then arrive in order, each as one data line; the stream's end for good ends it", async () => {
    const events = new StreamEvents();
    let viewers = 1;
    const stream = eventStream(events, { viewerCount: () => viewers, viewerCountIntervalMs: 0 });
    events.emit({ type: "stream.active", stream: "cam", requestId: "r1" }); // already active: nothing new
    events.emit({ type: "stream.inactive", stream: "other", requestId: "r2", reason: "input ended" });
    viewers = 2;
    events.emit({ type: "viewer.joined", stream: "cam", requestId: "r1", viewerId: "v2" });
    expect(stream.queued).toBe(3);
    const reader = new EventReader(stream.open());
    expect([await reader.next(), await reader.next(), await reader.next(), await reader.next()]).toEqual([
      RETRY,
      ACTIVE,
      count(1),
      count(2),
    ]);
    events.emit({ type: "stream.inactive", stream: "cam", requestId: "r1", reason: "input ended" });
    events.emit({ type: "stream.inactive", stream: "cam", requestId: "r1", reason: "input ended" });
    events.emit({ type: "stream.active", stream: "cam", requestId: "r3" });
    events.emit({ type: "server.draining" });
    events.emit({ type: "stream.inactive", stream: "cam", requestId: "r3", reason: "input ended" });
    events.emit({ type: "stream.ended", stream: "cam", requestId: "r3", reason: "input ended" });
    expect(await reader.rest()).toEqual([INACTIVE, ACTIVE, RECONNECT, INACTIVE]);
    expect(stream.closed).toBe(true);
    expect(events.listenerCount).toBe(0);
  });

  test("only the types asked for; no initial inactive when the stream has no media yet", async () => {
    const events = new StreamEvents();
    const stream = eventStream(events, { active: false, wanted: new Set(["inactive", "active"]) });
    const reader = new EventReader(stream.open());
    expect(await reader.next()).toBe(RETRY);
    events.emit({ type: "server.draining" });
    events.emit({ type: "viewer.joined", stream: "cam", requestId: "r1", viewerId: "v2" });
    events.emit({ type: "stream.active", stream: "cam", requestId: "r1" });
    stream.close();
    expect(await reader.rest()).toEqual([ACTIVE]);
  });

  test("viewercount: at most one per interval, with the latest count, and not for the session's own coming and going", async () => {
    const events = new StreamEvents();
    let viewers = 1;
    const stream = eventStream(events, { viewerCount: () => viewers, viewerCountIntervalMs: 100 });
    const reader = new EventReader(stream.open());
    expect([await reader.next(), await reader.next(), await reader.next()]).toEqual([RETRY, ACTIVE, count(1)]);
    for (const viewerId of ["v2", "v3", "v4"]) {
      viewers++;
      events.emit({ type: "viewer.joined", stream: "cam", requestId: "r1", viewerId });
    }
    events.emit({ type: "viewer.left", stream: "cam", requestId: "r1", viewerId: "me", reason: "DELETE" });
    const started = performance.now();
    expect(await reader.next()).toBe(count(4));
    expect(performance.now() - started).toBeGreaterThan(50); // held back to the interval, not sent per join
    expect(stream.queued).toBe(0);
  });

  test("a keep-alive comment while a GET is open and nothing else happens", async () => {
    const stream = eventStream(new StreamEvents(), { keepAliveMs: 20 });
    const reader = new EventReader(stream.open());
    expect([await reader.next(), await reader.next(), await reader.next()]).toEqual([RETRY, ACTIVE, count(1)]);
    expect(await reader.next()).toBe(SSE.keepAlive);
  });

  test("a newer GET takes over and an earlier one ends; a GET that went away leaves events queued for the next", async () => {
    const events = new StreamEvents();
    const stream = eventStream(events);
    const first = new EventReader(stream.open());
    expect(await first.next()).toBe(RETRY);
    const second = new EventReader(stream.open());
    expect(await first.rest()).toEqual([ACTIVE, count(1)]); // handed over before the second GET began
    expect(await second.next()).toBe(RETRY);
    await second.cancel();
    events.emit({ type: "stream.inactive", stream: "cam", requestId: "r1", reason: "swap" });
    expect(stream.queued).toBe(1);
    const abort = new AbortController();
    const third = new EventReader(stream.open(abort.signal));
    expect([await third.next(), await third.next()]).toEqual([RETRY, INACTIVE]);
    abort.abort();
    expect(await third.next()).toBeUndefined();
  });

  test("close() writes what is queued before the end; close(true), a DELETE, drops what the GET has not taken", async () => {
    for (const discard of [false, true]) {
      const events = new StreamEvents();
      const stream = eventStream(events, { wanted: new Set(["active", "inactive"]) });
      const body = stream.open(); // not read yet: it takes 8 messages, the rest wait in the queue
      for (let i = 0; i < 10; i++) {
        events.emit({ type: "stream.inactive", stream: "cam", requestId: "r1", reason: "swap" });
        events.emit({ type: "stream.active", stream: "cam", requestId: "r1" });
      }
      expect(stream.queued).toBe(14); // 21 events (the first "active" too), 7 taken after the retry: line
      stream.close(discard);
      expect((await new EventReader(body).rest()).length).toBe(discard ? 8 : 22); // retry: included
      expect(() => stream.open()).toThrow("the event stream has ended");
    }
  });

  test("without a reader at most 32 events wait: the oldest go", () => {
    const events = new StreamEvents();
    const stream = eventStream(events, { wanted: new Set(["active", "inactive"]) });
    for (let i = 0; i < 100; i++) {
      events.emit({ type: "stream.inactive", stream: "cam", requestId: "r1", reason: "swap" });
      events.emit({ type: "stream.active", stream: "cam", requestId: "r1" });
    }
    expect(stream.queued).toBe(32);
  });
});

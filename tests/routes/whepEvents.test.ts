import { afterEach, describe, expect, test } from "bun:test";
import { EventStreamReader, SSE } from "../helpers/eventStreamReader.ts";
import { ffmpegPush } from "../helpers/ffmpegPush.ts";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";
import { whepPlay, type WhepTestClient } from "../helpers/wheriftClient.ts";

// WHEP server-sent events over real HTTP (draft-ietf-wish-whep-02, "Server Sent Events extension"):
// an ffmpeg push, werift viewers, and the event stream read as a browser's fetch would.
const REL = "urn:ietf:params:whep:ext:core:server-sent-events";
const ORIGIN = "https://elsewhere.example"; // a page on another origin: what CORS must let it read
/** Bun cuts a request idle this long by default (FACTS.md), in fact 10-14 s; the event stream must outlive it. */
const BUN_IDLE_TIMEOUT_MS = 10_000;

let server: TestServer | undefined;
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await checkAndClose(server);
  server = undefined;
});

async function pushAndPlay(s: TestServer, stream: string): Promise<WhepTestClient> {
  const push = ffmpegPush("av-6s.mpegts", `${s.url}/ingest/${stream}`);
  cleanups.push(() => push.stop());
  return play(s, stream);
}

async function play(s: TestServer, stream: string): Promise<WhepTestClient> {
  const viewer = await whepPlay(`${s.url}/whep/${stream}`, { audio: false });
  cleanups.push(() => viewer.close());
  expect(viewer.response.status).toBe(201);
  return viewer;
}

/** The server-sent events Link of a WHEP 201: its URL (absolute) and `events`. */
function sseLink(s: TestServer, response: Response): { url: string; events: string } {
  const links = (response.headers.get("Link") ?? "").split(/,\s*(?=<)/);
  for (const link of links) {
    const match = /^<([^>]+)>;\s*rel="([^"]+)"(?:;\s*events="([^"]*)")?/.exec(link);
    if (match?.[2] === REL) return { url: new URL(match[1]!, s.url).href, events: match[3] ?? "" };
  }
  throw new Error(`no ${REL} Link in: ${response.headers.get("Link")}`);
}

function createEvents(url: string, body?: string, type = "application/json"): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { Origin: ORIGIN, ...(body === undefined ? {} : { "Content-Type": type }) },
    ...(body === undefined ? {} : { body }),
  });
}

/** POSTs for every event type and GETs the event stream at the Location. */
async function subscribe(
  s: TestServer,
  viewer: WhepTestClient,
): Promise<{ location: string; reader: EventStreamReader }> {
  const created = await createEvents(
    sseLink(s, viewer.response).url,
    '["active","inactive","viewercount","reconnect"]',
  );
  expect(created.status).toBe(201);
  expect(created.headers.get("Access-Control-Allow-Origin")).toBe("*");
  expect(created.headers.get("Access-Control-Expose-Headers")).toContain("Location");
  const location = new URL(created.headers.get("Location")!, s.url).href;
  const response = await fetch(location, { headers: { Origin: ORIGIN } });
  expect(response.status).toBe(200);
  expect(response.headers.get("Content-Type")).toBe("text/event-stream");
  const reader = new EventStreamReader(response.body!);
  cleanups.push(() => reader.cancel().catch(() => {}));
  return { location, reader };
}

describe("WHEP server-sent events", () => {
  test(
    "active and viewercount, counts as viewers come and go, then inactive and the end when the push ends; the stream outlives Bun's idle timeout",
    async () => {
      server = await startTestServer({}, { listen: true });
      const viewer = await pushAndPlay(server, "cam");
      expect(sseLink(server, viewer.response).events).toBe("active,inactive,viewercount,reconnect");
      expect(viewer.response.headers.get("Access-Control-Expose-Headers")).toContain("Link");
      const { reader } = await subscribe(server, viewer);
      const opened = performance.now();
      expect(await reader.take(3)).toEqual([SSE.retry, SSE.active, SSE.viewercount(1)]);

      const second = await play(server, "cam");
      expect(await reader.next()).toBe(SSE.viewercount(2));
      expect((await fetch(new URL(second.location!, server.url), { method: "DELETE" })).status).toBe(200);
      expect(await reader.next()).toBe(SSE.viewercount(1));

      // Quiet past Bun's idle timeout (10 s, swept every few seconds; writes do not reset it) until the
      // keep-alive comment 15 s after the GET: the event stream is still open.
      expect(await reader.next()).toBe(SSE.keepAlive);
      expect(performance.now() - opened).toBeGreaterThan(BUN_IDLE_TIMEOUT_MS + 4000);
      const push = cleanups.shift()!; // the push's stop
      await push();
      expect(await reader.rest()).toEqual([SSE.inactive]); // then the end: the stream ended for good
    },
    40_000,
  );

  test("reconnect when the server drains; the player's DELETE of its session ends its event stream", async () => {
    server = await startTestServer({}, { listen: true });
    const viewer = await pushAndPlay(server, "cam");
    const { reader } = await subscribe(server, viewer);
    expect(await reader.take(3)).toEqual([SSE.retry, SSE.active, SSE.viewercount(1)]);
    const drained = server.drain.run(10_000);
    expect(await reader.next()).toBe(SSE.reconnect);
    expect((await fetch(new URL(viewer.location!, server.url), { method: "DELETE" })).status).toBe(200);
    expect(await reader.rest()).toEqual([]);
    await cleanups.shift()!(); // the push ends by itself, as a publisher told to go would
    expect(await drained).toEqual({ endedByThemselves: true, viewersEnded: 0, streamsEnded: 0 });
  });

  test("one event stream per session: a newer POST replaces it, DELETE ends it, then its GET is 404", async () => {
    server = await startTestServer({}, { listen: true });
    const viewer = await pushAndPlay(server, "cam");
    const first = await subscribe(server, viewer);
    expect(await first.reader.take(3)).toEqual([SSE.retry, SSE.active, SSE.viewercount(1)]);
    const second = await createEvents(sseLink(server, viewer.response).url); // no body: every type
    expect(second.status).toBe(201);
    expect(await first.reader.rest()).toEqual([]); // replaced
    expect((await fetch(first.location)).status).toBe(404);
    const location = new URL(second.headers.get("Location")!, server.url).href;
    expect((await fetch(location, { method: "DELETE" })).status).toBe(200);
    const gone = await fetch(location);
    expect(gone.status).toBe(404);
    expect(await gone.text()).toContain("(ended, replaced or never existed)");
    expect((await fetch(location, { method: "PUT" })).status).toBe(405);
  });

  test("a bad request says what was wrong: unknown session 404, not JSON 400, another type 415", async () => {
    server = await startTestServer({}, { listen: true });
    const viewer = await pushAndPlay(server, "cam");
    const url = sseLink(server, viewer.response).url;
    const cases: Array<[Response, number, string]> = [
      [await createEvents(`${server.url}/whep/cam/nosuchsession/sse`, "[]"), 404, "no WHEP session nosuchsession"],
      [await createEvents(url, "{"), 400, "the event stream request is not JSON"],
      [await createEvents(url, '["active","fireworks"]'), 400, 'unknown event type "fireworks"'],
      [await createEvents(url, "active", "text/plain"), 415, "is application/json"],
    ];
    for (const [response, status, text] of cases) {
      expect({ status: response.status, text: await response.text() }).toEqual({
        status,
        text: expect.stringContaining(text),
      });
    }
  });
});

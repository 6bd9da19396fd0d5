/**
 * The trickle server over real HTTP, status by status and header by header,
 * as go-livepeer's trickle clients and ai-runner's expect them
 * (go-livepeer trickle/trickle_server.go).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { unguessableId } from "../../lib/ids.ts";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";

let server: TestServer | undefined;
/** Channels a test made: removed at its end, as a pipeline attempt removes its own when it ends. */
let made: string[] = [];

afterEach(async () => {
  for (const name of made) server?.trickle.removeChannel(name);
  made = [];
  await checkAndClose(server);
  server = undefined;
});

async function start(env: Record<string, string> = {}): Promise<TestServer> {
  server = await startTestServer(env, { listen: true });
  return server;
}

/** A channel created the way Wisp creates them, and its URL. */
function channel(s: TestServer, mimeType = "video/mp2t"): { name: string; url: string } {
  const name = `${unguessableId()}-in`;
  s.trickle.createChannel(name, { mimeType });
  made.push(name);
  return { name, url: `${s.url}/trickle/${name}` };
}

/** A POST whose body is written chunk by chunk, as a publisher streams a segment. */
function streamingPost(url: string, headers: Record<string, string> = {}) {
  let body!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>({ start: (c) => void (body = c) });
  const init = { method: "POST", body: stream, duplex: "half", headers: { "Content-Type": "video/mp2t", ...headers } };
  const response = fetch(url, init as RequestInit);
  return {
    write: (text: string) => body.enqueue(new TextEncoder().encode(text)),
    end: () => body.close(),
    response,
  };
}

async function post(url: string, text: string, headers: Record<string, string> = {}): Promise<Response> {
  return await fetch(url, { method: "POST", body: text, headers: { "Content-Type": "video/mp2t", ...headers } });
}

/** Reads one chunk of a streamed body as text. */
async function readChunk(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string | undefined> {
  const { value, done } = await reader.read();
  return done ? undefined : new TextDecoder().decode(value);
}

describe("trickle server: segments", () => {
  test("POST writes a segment; GET reads it with Lp-Trickle-Seq and the channel's Content-Type", async () => {
    const s = await start();
    const { url } = channel(s);
    const written = await post(`${url}/0`, "segment zero");
    expect(written.status).toBe(200);
    expect(written.headers.get("Lp-Trickle-Seq")).toBe("0");
    await written.text();
    const read = await fetch(`${url}/0`);
    expect(read.status).toBe(200);
    expect(read.headers.get("Lp-Trickle-Seq")).toBe("0");
    expect(read.headers.get("Content-Type")).toBe("video/mp2t");
    expect(await read.text()).toBe("segment zero");
    // -2 is the current (last written) segment; /next says the next seq, in the body and in Lp-Trickle-Latest.
    const current = await fetch(`${url}/-2`);
    expect(current.headers.get("Lp-Trickle-Seq")).toBe("0");
    expect(await current.text()).toBe("segment zero");
    const next = await fetch(`${url}/next`);
    expect(next.headers.get("Lp-Trickle-Latest")).toBe("1");
    expect(await next.text()).toBe("1");
  });

  test("POST to -1 writes the next seq and says which in Lp-Trickle-Seq", async () => {
    const s = await start();
    const { url } = channel(s);
    for (const expected of ["0", "1", "2"]) {
      const written = await post(`${url}/-1`, `segment ${expected}`);
      expect(written.headers.get("Lp-Trickle-Seq")).toBe(expected);
      await written.text();
    }
    expect(await (await fetch(`${url}/1`)).text()).toBe("segment 1");
  });

  test("a subscriber reads a segment WHILE it is being written", async () => {
    const s = await start();
    const { url } = channel(s);
    const publisher = streamingPost(`${url}/0`);
    publisher.write("first ");
    const read = await fetch(`${url}/0`);
    expect(read.headers.get("Lp-Trickle-Seq")).toBe("0");
    const reader = read.body!.getReader();
    expect(await readChunk(reader)).toBe("first ");
    publisher.write("second");
    expect(await readChunk(reader)).toBe("second");
    publisher.end();
    expect(await readChunk(reader)).toBeUndefined();
    const answer = await publisher.response;
    expect(answer.status).toBe(200);
    expect(answer.headers.get("Lp-Trickle-Seq")).toBe("0");
    await answer.text();
  });

  test("an empty POST (a preconnect ended unused) moves the next write past its seq", async () => {
    const s = await start();
    const { url } = channel(s);
    const empty = await fetch(`${url}/0`, { method: "POST" });
    expect(empty.status).toBe(200);
    expect(empty.headers.get("Lp-Trickle-Seq")).toBe("0");
    await empty.text();
    expect(await (await fetch(`${url}/next`)).text()).toBe("1");
  });

  test("bad seqs are 400 with a sentence; unknown channels are 404 for every method", async () => {
    const s = await start();
    const { url } = channel(s);
    const bad = await fetch(`${url}/abc`);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('trickle seq "abc" is not a whole number');
    const postCurrent = await post(`${url}/-2`, "x");
    expect(postCurrent.status).toBe(400); // -2 (current) is for reading only
    await postCurrent.text();
    const unknown = `${s.url}/trickle/${unguessableId()}`;
    for (const [method, path] of [["GET", "/0"], ["POST", "/0"], ["DELETE", "/0"], ["DELETE", ""], ["POST", ""]]) {
      const response = await fetch(`${unknown}${path}`, { method, ...(method === "POST" ? { body: "x" } : {}) });
      expect(`${method} ${path} ${response.status}`).toBe(`${method} ${path} 404`);
      expect(await response.text()).toContain("does not exist");
    }
    const exists = await fetch(url, { method: "POST" });
    expect(exists.status).toBe(200); // POST /{channel}: it exists (Wisp created it)
    await exists.text();
  });
});

describe("trickle server: preconnects", () => {
  test("a GET of -1 before the POST waits for the segment and gets it", async () => {
    const s = await start();
    const { url } = channel(s);
    const waiting = fetch(`${url}/-1`);
    await Bun.sleep(0);
    const written = await post(`${url}/0`, "arrived later");
    await written.text();
    const read = await waiting;
    expect(read.status).toBe(200);
    expect(read.headers.get("Lp-Trickle-Seq")).toBe("0");
    expect(await read.text()).toBe("arrived later");
  });

  test("a preconnected POST (headers, no body yet) and a GET of its seq meet when the bytes come", async () => {
    const s = await start();
    const { url } = channel(s);
    await (await post(`${url}/0`, "zero")).text();
    const preconnected = streamingPost(`${url}/1`);
    const waiting = fetch(`${url}/1`);
    await Bun.sleep(50);
    preconnected.write("one");
    preconnected.end();
    const read = await waiting;
    expect(read.headers.get("Lp-Trickle-Seq")).toBe("1");
    expect(await read.text()).toBe("one");
    expect((await preconnected.response).headers.get("Lp-Trickle-Seq")).toBe("1");
  });

  test("first-byte timeout: a silent preconnected POST gets 408, a GET whose segment never starts gets 470 + Latest", async () => {
    const s = await start({ TRICKLE_FIRST_BYTE_TIMEOUT_MS: "300" });
    const { url } = channel(s);
    const silent = streamingPost(`${url}/0`);
    const answer = await silent.response;
    expect(answer.status).toBe(408);
    expect(await answer.text()).toContain("sent no first byte within 300 ms (TRICKLE_FIRST_BYTE_TIMEOUT_MS)");
    const started = performance.now();
    const waited = await fetch(`${url}/-1`);
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(waited.status).toBe(470);
    expect(waited.headers.get("Lp-Trickle-Latest")).toBe("0");
    expect(waited.headers.get("Lp-Trickle-Seq")).toBe("0");
    expect(await waited.text()).toContain("did not start within 300 ms");
  });

  test("Bun's 10 s idle timeout cuts neither a waiting GET nor a silent preconnected POST", async () => {
    const s = await start({ TRICKLE_FIRST_BYTE_TIMEOUT_MS: "20000" });
    const { url } = channel(s);
    const waiting = fetch(`${url}/-1`);
    const preconnected = streamingPost(`${url}/0`);
    await Bun.sleep(11_000);
    preconnected.write("after eleven seconds");
    preconnected.end();
    const read = await waiting;
    expect(read.status).toBe(200);
    expect(await read.text()).toBe("after eleven seconds");
    expect((await preconnected.response).status).toBe(200);
  }, 30_000);
});

describe("trickle server: the window, reset, close", () => {
  test("a seq that left the window of 5 gets 470 with Lp-Trickle-Latest; one inside it is still served", async () => {
    const s = await start();
    const { url } = channel(s);
    for (let seq = 0; seq < 7; seq++) await (await post(`${url}/${seq}`, `segment ${seq}`)).text();
    const gone = await fetch(`${url}/1`);
    expect(gone.status).toBe(470);
    expect(gone.headers.get("Lp-Trickle-Latest")).toBe("7");
    expect(gone.headers.get("Lp-Trickle-Seq")).toBe("1");
    await gone.text();
    const kept = await fetch(`${url}/2`);
    expect(kept.status).toBe(200);
    expect(kept.headers.get("Lp-Trickle-Latest")).toBe("7"); // said when the segment read is not the latest
    expect(await kept.text()).toBe("segment 2");
    const ahead = await fetch(`${url}/9`);
    expect(ahead.status).toBe(470); // beyond the next write: not precreated
    await ahead.text();
  });

  test("Lp-Trickle-Reset closes the earlier segments: their readers get their end", async () => {
    const s = await start();
    const { url } = channel(s);
    const hanging = streamingPost(`${url}/0`);
    hanging.write("half a segment");
    const reader = (await fetch(`${url}/0`)).body!.getReader();
    expect(await readChunk(reader)).toBe("half a segment");
    const restarted = await post(`${url}/1`, "after the restart", { "Lp-Trickle-Reset": "1" });
    expect(restarted.headers.get("Lp-Trickle-Seq")).toBe("1");
    await restarted.text();
    expect(await readChunk(reader)).toBeUndefined();
    expect((await hanging.response).status).toBe(200); // its segment was closed under it
    expect(await (await fetch(`${url}/-2`)).text()).toBe("after the restart");
  });

  test("DELETE of a segment ends its readers; of a seq not in the window, 404", async () => {
    const s = await start();
    const { url } = channel(s);
    const publisher = streamingPost(`${url}/0`);
    publisher.write("partial");
    const reader = (await fetch(`${url}/0`)).body!.getReader();
    expect(await readChunk(reader)).toBe("partial");
    const deleted = await fetch(`${url}/0`, { method: "DELETE" });
    expect(deleted.status).toBe(200);
    await deleted.text();
    expect(await readChunk(reader)).toBeUndefined();
    await publisher.response;
    const missing = await fetch(`${url}/3`, { method: "DELETE" });
    expect(missing.status).toBe(404);
    await missing.text();
  });

  test("closing a channel: a waiting GET gets Lp-Trickle-Closed, later requests 404", async () => {
    const s = await start();
    const { name, url } = channel(s);
    await (await post(`${url}/0`, "zero")).text();
    const waiting = fetch(`${url}/-1`);
    const preconnected = streamingPost(`${url}/1`);
    await Bun.sleep(50);
    s.trickle.removeChannel(name); // the pipeline attempt ended
    const read = await waiting;
    expect(read.status).toBe(200);
    expect(read.headers.get("Lp-Trickle-Closed")).toBe("terminated");
    expect(read.headers.get("Lp-Trickle-Seq")).toBe("1");
    await read.text();
    const publisherAnswer = await preconnected.response;
    expect(publisherAnswer.headers.get("Lp-Trickle-Closed")).toBe("terminated");
    await publisherAnswer.text();
    const late = await post(`${url}/2`, "too late");
    expect(late.status).toBe(404);
    await late.text();
  });

  test("a finished channel (its input ended): the window is still read, then Lp-Trickle-Closed instead of a wait", async () => {
    const s = await start();
    const { name, url } = channel(s);
    await (await post(`${url}/0`, "zero")).text();
    await (await post(`${url}/1`, "one")).text();
    const waiting = fetch(`${url}/-1`);
    await Bun.sleep(50);
    s.trickle.channel(name)!.finish();
    const answered = await waiting;
    expect(answered.headers.get("Lp-Trickle-Closed")).toBe("terminated");
    await answered.text();
    expect(await (await fetch(`${url}/0`)).text()).toBe("zero");
    const current = await fetch(`${url}/-2`);
    expect(current.headers.get("Lp-Trickle-Closed")).toBeNull();
    expect(await current.text()).toBe("one");
    const after = await fetch(`${url}/2`);
    expect(after.status).toBe(200);
    expect(after.headers.get("Lp-Trickle-Closed")).toBe("terminated");
    await after.text();
    const late = await post(`${url}/2`, "after the end");
    expect(late.headers.get("Lp-Trickle-Closed")).toBe("terminated"); // taken nowhere: the publisher should stop
    await late.text();
  });

  test("DELETE of the channel (a worker closing its output) closes and removes it", async () => {
    const s = await start();
    const { name, url } = channel(s);
    const waiting = fetch(`${url}/-1`);
    await Bun.sleep(20);
    const deleted = await fetch(url, { method: "DELETE" });
    expect(deleted.status).toBe(200);
    await deleted.text();
    expect((await waiting).headers.get("Lp-Trickle-Closed")).toBe("terminated");
    expect(s.trickle.channel(name)).toBeUndefined();
    expect((await fetch(`${url}/0`)).status).toBe(404);
  });
});

describe("trickle server: bounds", () => {
  test("a segment over TRICKLE_MAX_SEGMENT_BYTES gets 413; the rest of the app keeps MAX_BODY_BYTES", async () => {
    const s = await start({ TRICKLE_MAX_SEGMENT_BYTES: "2048", MAX_BODY_BYTES: "1024" });
    const { url } = channel(s);
    const fits = await post(`${url}/0`, "x".repeat(2000)); // over MAX_BODY_BYTES: trickle bodies are streamed
    expect(fits.status).toBe(200);
    await fits.text();
    const tooBig = await post(`${url}/1`, "x".repeat(3000));
    expect(tooBig.status).toBe(413);
    expect(await tooBig.text()).toContain("larger than 2048 bytes (TRICKLE_MAX_SEGMENT_BYTES)");
    const offer = await fetch(`${s.url}/whep/cam`, { method: "POST", body: "x".repeat(2000) });
    expect(offer.status).toBe(413);
    await offer.text();
  });

  test("requests per channel are bounded: 429 beyond TRICKLE_MAX_REQUESTS_PER_CHANNEL", async () => {
    const s = await start({ TRICKLE_MAX_REQUESTS_PER_CHANNEL: "2" });
    const { name, url } = channel(s);
    const first = fetch(`${url}/-1`);
    const second = fetch(`${url}/-1`);
    await Bun.sleep(50);
    const third = await fetch(`${url}/-1`);
    expect(third.status).toBe(429);
    expect(await third.text()).toContain("TRICKLE_MAX_REQUESTS_PER_CHANNEL");
    const refusedPost = await post(`${url}/0`, "x");
    expect(refusedPost.status).toBe(429);
    await refusedPost.text();
    s.trickle.removeChannel(name);
    for (const waiting of [first, second]) {
      const answer = await waiting;
      expect(answer.headers.get("Lp-Trickle-Closed")).toBe("terminated");
      await answer.text();
    }
  });

  test("channels are created by Wisp only, up to TRICKLE_MAX_CHANNELS", async () => {
    const s = await start({ TRICKLE_MAX_CHANNELS: "4" });
    const names = [0, 1, 2, 3].map(() => channel(s).name);
    expect(() => s.trickle.createChannel(unguessableId(), { mimeType: "video/mp2t" })).toThrow(
      "its limit (TRICKLE_MAX_CHANNELS)",
    );
    for (const name of names) s.trickle.removeChannel(name);
  });
});

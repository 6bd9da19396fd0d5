import { afterEach, describe, expect, test } from "bun:test";
import { readFixture } from "../fixtures/readFixture.ts";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";

const AV = readFixture("av.mpegts");

let server: TestServer | undefined;
afterEach(async () => {
  await checkAndClose(server);
  server = undefined;
});

/** A request body fed by hand, as an encoder's chunked upload. */
function pushBody() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  return { body, write: (b: Uint8Array) => controller.enqueue(b), end: () => controller.close() };
}

function push(s: TestServer, path: string, body: ReadableStream<Uint8Array>, headers: Record<string, string> = {}) {
  return s.app.request(path, { method: "PUT", body, headers, duplex: "half" } as RequestInit);
}

/** Deterministic bytes that are not MPEG-TS (no 0x47 sync byte every 188 bytes). */
function noise(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0, x = 12345; i < length; i++) bytes[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return bytes;
}

describe("a push that is not MPEG-TS", () => {
  test("random bytes beyond INGEST_PROBE_BYTES: 400 not MPEG-TS, a warn log, the session ended", async () => {
    const lines: string[] = [];
    server = await startTestServer({ INGEST_PROBE_BYTES: "65536" }, { logSink: (line) => lines.push(line) });
    const upload = pushBody();
    const response = push(server, "/ingest/junk", upload.body);
    upload.write(noise(32_768));
    upload.write(noise(65_536)); // never ended by the client: the probe ends it
    const res = await response;
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("not MPEG-TS: the first 65536 bytes of the push held no program");
    expect(server.registry.current("junk")).toBeUndefined();
    expect(lines.some((l) => l.includes('"level":"warn"') && l.includes("push refused") && l.includes("not MPEG-TS")))
      .toBe(true);
  });

  test("a short body of random bytes that ends: 400, not 200", async () => {
    server = await startTestServer();
    const res = await push(server, "/ingest/junk", new Blob([noise(5000) as Uint8Array<ArrayBuffer>]).stream());
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("not MPEG-TS");
  });

  test("bytes trickled with no program within INGEST_PROBE_TIMEOUT_MS: 400", async () => {
    server = await startTestServer({ INGEST_PROBE_TIMEOUT_MS: "300" });
    const upload = pushBody();
    const response = push(server, "/ingest/slowjunk", upload.body);
    upload.write(noise(100));
    const res = await response;
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("the first 300 ms of the push held no program");
  });
});

describe("a push that goes silent", () => {
  test("is ended INGEST_IDLE_TIMEOUT_MS after its last byte with 408, and its stream ends", async () => {
    server = await startTestServer({ INGEST_IDLE_TIMEOUT_MS: "1000" });
    const upload = pushBody();
    const response = push(server, "/ingest/quiet", upload.body);
    upload.write(AV.subarray(0, 188 * 100));
    const session = await server.registry.waitForOutput("quiet", { timeoutMs: 2000 });
    const started = performance.now();
    const res = await response;
    expect(res.status).toBe(408);
    expect(await res.text()).toContain("sent no byte for 1000 ms (INGEST_IDLE_TIMEOUT_MS)");
    expect(performance.now() - started).toBeGreaterThanOrEqual(900);
    expect(session.endReason).toBe("idle");
    expect(server.registry.current("quiet")).toBeUndefined();
  });
});

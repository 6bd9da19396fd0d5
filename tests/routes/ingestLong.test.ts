import { afterEach, describe, expect, test } from "bun:test";
import { loopedPushArgv } from "../../bench/lib/sources.ts";
import { fileURLToPath } from "node:url";
import type { IngestSession } from "../../lib/ingest/ingestSession.ts";
import { readFixture } from "../fixtures/readFixture.ts";
import { trackChild } from "../helpers/children.ts";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";

// Pushes that outlast Bun's own limits (FACTS.md): its 128 MiB body limit, and its per-request
// timeout that a slow body does not feed. Both cut every push before; these would fail again if
// the server's maxRequestBodySize or the ingest route's own idle watchdog went away.

let server: TestServer | undefined;
afterEach(async () => {
  await checkAndClose(server);
  server = undefined;
});

function ended(session: IngestSession): Promise<string> {
  return new Promise((resolve) => session.onEnd(resolve));
}

describe("long pushes", () => {
  test("300 MB at full speed from ffmpeg through one session: all of it arrives, the push ends normally", async () => {
    server = await startTestServer({}, { listen: true });
    const input = fileURLToPath(new URL("../fixtures/av-6s.mpegts", import.meta.url));
    const ffmpeg = trackChild(Bun.spawn(
      loopedPushArgv(input, `${server.url}/ingest/big`, { realtime: false, limitArgs: ["-fs", "300000000"] }),
      { stdout: "ignore", stderr: "pipe", stdin: "ignore" },
    ));
    try {
      const session = (await server.registry.waitForOutput("big", { timeoutMs: 10_000 })).input!;
      const output = session.output;
      const reason = await ended(session);
      expect(await ffmpeg.exited).toBe(0); // before: "Broken pipe" at 128 MiB
      expect(reason).toBe("finished");
      expect(session.bytesIn).toBeGreaterThanOrEqual(300_000_000);
      expect(output.info().bytesIn).toBe(session.bytesIn); // passthrough: every byte reached the output
    } finally {
      ffmpeg.kill();
      await ffmpeg.exited;
    }
  }, 240_000);

  test("a push at 2 KB/s for 65 s, past the old 60 s cut: answered 200 with every byte", async () => {
    server = await startTestServer({ INGEST_IDLE_TIMEOUT_MS: "5000" }, { listen: true });
    const av = readFixture("av.mpegts");
    const CHUNK = 200; // bytes every 100 ms: 2 KB/s
    const total = CHUNK * 650;
    let sent = 0;
    let delivered = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const body = new ReadableStream<Uint8Array>({
      pull: (controller) =>
        new Promise<void>((resolve) => {
          timer = setTimeout(() => { // a slow sender: the behaviour under test
            if (sent >= total) controller.close();
            else {
              const chunk = av.slice(sent % av.length, (sent % av.length) + CHUNK);
              controller.enqueue(chunk);
              delivered += chunk.length;
            }
            sent += CHUNK;
            resolve();
          }, 100);
        }),
      cancel: () => clearTimeout(timer),
    });
    const started = performance.now();
    const res = await fetch(`${server.url}/ingest/slow`, { method: "PUT", body, duplex: "half" } as RequestInit);
    expect(res.status).toBe(200);
    expect((await res.json()).bytes).toBe(delivered);
    expect(performance.now() - started).toBeGreaterThan(64_000);
  }, 120_000);
});

import { afterEach, describe, expect, test } from "bun:test";
import { readFixture } from "./fixtures/readFixture.ts";
import { checkAndClose, startTestServer, type TestServer } from "./helpers/testServer.ts";
import { whepPlay, type WhepTestClient } from "./helpers/wheriftClient.ts";
import { chromeLikeOffer } from "./webrtc/chromeOffer.ts";

const AV = readFixture("av-6s.mpegts");

let server: TestServer | undefined;
let viewer: WhepTestClient | undefined;
afterEach(async () => {
  await viewer?.close();
  await checkAndClose(server);
  server = undefined;
  viewer = undefined;
});

/** A push whose body we feed by hand, as an encoder's chunked upload. */
function startPush(s: TestServer, name: string) {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  const response = fetch(`${s.url}/ingest/${name}`, { method: "PUT", body, duplex: "half" } as RequestInit);
  return { response, write: (bytes: Uint8Array) => controller.enqueue(bytes) };
}

const offer = (s: TestServer, name: string) =>
  fetch(`${s.url}/whep/${name}`, {
    method: "POST",
    headers: { "Content-Type": "application/sdp" },
    body: chromeLikeOffer(),
  });

describe("drain (SIGTERM)", () => {
  test("new sessions get 503 + Retry-After, waiting POSTs are answered at once, live ones are served until the timeout, then ended", async () => {
    server = await startTestServer({}, { listen: true });
    const s = server;
    const push = startPush(s, "cam");
    push.write(AV.subarray(0, 188 * 1000));
    await s.registry.waitForOutput("cam", { timeoutMs: 5000 });
    viewer = await whepPlay(`${s.url}/whep/cam`, { audio: false });
    await viewer.until(() => viewer!.video.length > 0);
    const waiting = offer(s, "later");

    const drained = s.drain.run(1500);
    const refusedWait = await waiting;
    expect(refusedWait.status).toBe(503);
    expect(refusedWait.headers.get("Retry-After")).toBe("5");
    expect(await refusedWait.text()).toContain("the server is shutting down and takes no new sessions");
    for (
      const refused of [
        await offer(s, "cam"),
        await fetch(`${s.url}/ingest/other`, { method: "PUT", body: Buffer.from(AV.subarray(0, 1880)) }),
      ]
    ) {
      expect(refused.status).toBe(503);
      expect(refused.headers.get("Retry-After")).toBe("5");
    }
    expect((await fetch(`${s.url}/healthz`)).status).toBe(503);

    // Still served while draining: the viewer receives what the push still sends.
    const before = viewer.video.length;
    push.write(AV.subarray(188 * 1000, 188 * 1500));
    await viewer.until(() => viewer!.video.length > before);
    expect(s.viewers.size).toBe(1);

    const result = await drained;
    expect(result).toEqual({ endedByThemselves: false, viewersEnded: 1, streamsEnded: 1 });
    const pushAnswer = await push.response;
    expect(pushAnswer.status).toBe(503);
    expect(await pushAnswer.text()).toContain("the server is shutting down; the push was ended after");
    // The viewer was told (RTCP BYE, DTLS close_notify): its DTLS transport closes at once.
    await new Promise<void>((resolve) => {
      const dtls = viewer!.pc.dtlsTransports[0]!;
      if (dtls.state === "closed") return resolve();
      dtls.onStateChange.subscribe((state) => state === "closed" && resolve());
    });
  });

  test("ends as soon as the live sessions have ended by themselves", async () => {
    server = await startTestServer({}, { listen: true });
    const push = startPush(server, "cam");
    push.write(AV.subarray(0, 188 * 1000));
    const session = await server.registry.waitForOutput("cam", { timeoutMs: 5000 });
    const started = performance.now();
    const drained = server.drain.run(30_000);
    session.end("finished");
    expect(await drained).toEqual({ endedByThemselves: true, viewersEnded: 0, streamsEnded: 0 });
    expect(performance.now() - started).toBeLessThan(1000);
    await push.response.catch(() => {});
  });
});

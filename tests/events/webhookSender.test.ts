import { afterEach, describe, expect, test } from "bun:test";
import { WebhookSender, type WebhookSenderOptions } from "../../lib/events/webhookSender.ts";
import type { IngestSession } from "../../lib/ingest/ingestSession.ts";
import { silentLogger } from "../../lib/logger.ts";
import { StreamEvents } from "../../lib/streamEvents.ts";
import { readFixture } from "../fixtures/readFixture.ts";
import { eventually } from "../helpers/eventually.ts";
import { feedRealtime } from "../helpers/feed.ts";
import { liveTimerCount } from "../helpers/liveTimers.ts";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";
import { whepPlay, type WhepTestClient } from "../helpers/wheriftClient.ts";
import { Scrape } from "../metrics/scrape.ts";
import { signatureIsValid, startWebhookReceiver } from "./webhookReceiver.ts";

const SECRET = "whsec-test";

let receiver: Awaited<ReturnType<typeof startWebhookReceiver>> | undefined;
let server: TestServer | undefined;
let sender: WebhookSender | undefined;
const clients: WhepTestClient[] = [];
const sessions: IngestSession[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  for (const session of sessions.splice(0)) session.end("finished");
  await sender?.close();
  sender = undefined;
  await checkAndClose(server);
  server = undefined;
  await receiver?.stop();
  receiver = undefined;
});

/** A sender on its own event feed, posting to the test's receiver. */
function senderFor(url: string, options: Partial<WebhookSenderOptions> = {}) {
  const events = new StreamEvents();
  sender = new WebhookSender({
    url,
    secret: SECRET,
    queueSize: 100,
    timeoutMs: 2000,
    maxAttempts: 3,
    retryBackoffMs: 10,
    events,
    logger: silentLogger,
    ...options,
  });
  const started = (stream: string) => events.emit({ type: "stream.started", stream, requestId: `req-${stream}` });
  return { sender, events, started };
}

describe("webhooks (WEBHOOK_URL): stream and viewer events reach another system", () => {
  test("a push, a viewer joining and leaving: started, joined, left, ended, in order and signed", async () => {
    receiver = await startWebhookReceiver();
    server = await startTestServer({ WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: SECRET }, { listen: true });
    const session = server.registry.startSession("cam");
    sessions.push(session);
    const feed = feedRealtime(session, readFixture("av.mpegts"), { durationMs: 2000, loops: 10 });
    session.onEnd(() => feed.stop());
    const client = await whepPlay(`${server.url}/whep/cam`);
    clients.push(client);
    expect(client.response.status).toBe(201);
    await client.until(() => client.video.length > 5);
    const viewerId = client.location!.split("/").at(-1);
    expect((await fetch(`${server.url}${client.location}`, { method: "DELETE" })).status).toBe(200);
    session.end("finished");
    await receiver.until(4);
    const bodies = receiver.received.map((webhook) => webhook.json);
    expect(bodies.map((body) => body.event)).toEqual([
      "stream.started",
      "viewer.joined",
      "viewer.left",
      "stream.ended",
    ]);
    const requestId = session.requestId;
    expect(bodies[0]).toMatchObject({ event: "stream.started", stream: "cam", requestId });
    expect(bodies[1]).toMatchObject({ event: "viewer.joined", stream: "cam", requestId, viewerId });
    expect(bodies[2]).toMatchObject({ event: "viewer.left", stream: "cam", viewerId, reason: "DELETE by the client" });
    expect(bodies[3]).toMatchObject({ event: "stream.ended", stream: "cam", requestId, reason: "finished" });
    for (const webhook of receiver.received) {
      expect(signatureIsValid(webhook, SECRET)).toBe(true);
      expect(signatureIsValid(webhook, "another secret")).toBe(false);
      expect(webhook.headers.get("Content-Type")).toBe("application/json");
      expect(webhook.headers.get("Wisp-Event")).toBe(String(webhook.json.event));
      expect(Date.parse(String(webhook.json.time))).toBeGreaterThan(Date.now() - 60_000);
    }
    expect(new Set(bodies.map((body) => body.id)).size).toBe(4);
    await eventually(() => server!.webhooks!.stats.delivered === 4, "the last answer to be read");
    const scrape = Scrape.parse(await (await fetch(`${server.url}/metrics`)).text());
    expect(scrape.value("wisp_webhook_events_total", { result: "delivered" })).toBe(4);
    expect(scrape.value("wisp_webhook_queue_length")).toBe(0);
  });

  test("a 500 is retried (same event, same signature); a 400 is not; flush() waits for the queue", async () => {
    const answers = [500, 204, 400];
    receiver = await startWebhookReceiver((_, index) => new Response(null, { status: answers[index] ?? 204 }));
    const { sender, started } = senderFor(receiver.url);
    started("a");
    expect(await sender.flush(5000)).toBe(true);
    expect(receiver.received).toHaveLength(2);
    const [first, retry] = receiver.received;
    expect(retry!.json).toEqual(first!.json);
    expect(retry!.headers.get("Wisp-Signature")).toBe(first!.headers.get("Wisp-Signature"));
    expect(sender.stats).toEqual({ delivered: 1, failed: 0, dropped: 0, retries: 1 });
    started("b"); // answered 400: the receiver refused it, a retry would not change that
    expect(await sender.flush(5000)).toBe(true);
    expect(receiver.received).toHaveLength(3);
    expect(sender.stats).toEqual({ delivered: 1, failed: 1, dropped: 0, retries: 1 });
  });

  test("an attempt that gets no answer within the timeout fails and is retried, up to the attempts allowed", async () => {
    receiver = await startWebhookReceiver(() => new Promise<Response>(() => {})); // never answers
    const { sender, started } = senderFor(receiver.url, { timeoutMs: 100, maxAttempts: 2 });
    started("a");
    expect(await sender.flush(5000)).toBe(true);
    expect(receiver.received).toHaveLength(2);
    expect(sender.stats).toMatchObject({ delivered: 0, failed: 1, retries: 1 });
  });

  test("a full queue drops its oldest events and counts them; the rest go in order", async () => {
    const release = Promise.withResolvers<void>();
    receiver = await startWebhookReceiver(async (_, index) => {
      if (index === 0) await release.promise; // the receiver is slow on the first
      return new Response(null, { status: 204 });
    });
    const { sender, started } = senderFor(receiver.url, { queueSize: 2 });
    for (const stream of ["s1", "s2", "s3", "s4", "s5"]) started(stream);
    expect(sender.stats.dropped).toBe(2); // s1 is being sent; s2 and s3 made way for s4 and s5
    expect(sender.queueLength).toBe(2);
    await receiver.until(1);
    release.resolve();
    expect(await sender.flush(5000)).toBe(true);
    expect(receiver.received.map((webhook) => webhook.json.stream)).toEqual(["s1", "s4", "s5"]);
    expect(sender.stats).toMatchObject({ delivered: 3, dropped: 2 });
  });

  test("close() during a retry's backoff stops at once and leaves no timer; events after it are ignored", async () => {
    receiver = await startWebhookReceiver(() => new Response(null, { status: 503 }));
    const before = liveTimerCount();
    const { sender, started } = senderFor(receiver.url, { retryBackoffMs: 60_000 });
    started("a");
    await receiver.until(1);
    await eventually(() => sender.stats.retries === 1, "the retry's backoff to begin");
    expect(liveTimerCount()).toBeGreaterThan(before);
    await sender.close();
    expect(liveTimerCount()).toBe(before);
    started("b");
    expect(sender.queueLength).toBe(0);
    expect(receiver.received).toHaveLength(1);
  });
});

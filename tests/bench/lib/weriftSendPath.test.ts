import { afterEach, expect, test } from "bun:test";
import { weriftSendPath } from "../../../bench/lib/weriftSendPath.ts";
import type { IngestSession } from "../../../lib/ingest/ingestSession.ts";
import { readFixture } from "../../fixtures/readFixture.ts";
import { feedRealtime } from "../../helpers/feed.ts";
import { checkAndClose, startTestServer, type TestServer } from "../../helpers/testServer.ts";
import { whepPlay, type WhepTestClient } from "../../helpers/wheriftClient.ts";

let server: TestServer | undefined;
let client: WhepTestClient | undefined;
let session: IngestSession | undefined;
afterEach(async () => {
  await client?.close();
  session?.end("finished");
  await checkAndClose(server);
  [server, client, session] = [undefined, undefined, undefined];
});

test("the fan-out benchmark's baseline: werift's sendRtp plugged in as a code option delivers in order, and werift keeps the connection", async () => {
  // As bench/fanout.ts --baseline runs it (bench/lib/benchServer.ts --werift-send-path): a socket per connection.
  server = await startTestServer({ WEBRTC_UDP_ADDR: "off" }, { listen: true, webrtc: { weriftSendPath } });
  session = server.registry.startSession("cam");
  const feed = feedRealtime(session, readFixture("av.mpegts"), { durationMs: 2000, loops: 10 });
  session.onEnd(() => feed.stop());
  client = await whepPlay(`${server.url}/whep/cam`);
  expect(client.response.status).toBe(201);
  await client.until(() => client!.video.length > 60 && client!.audio.length > 10);
  const seqs = client.video.map((p) => p.header.sequenceNumber);
  for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe((seqs[i - 1]! + 1) & 0xffff);
  const viewer = server.viewers.list()[0]!;
  expect(viewer.handedOver).toBe(false);
  expect(viewer.stats().packetsSent).toBeGreaterThan(60);
  expect(server.srtpSealing).toBe("werift");
});

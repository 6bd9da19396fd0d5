import { afterEach, expect, test } from "bun:test";
import { WhepViewer } from "../../lib/webrtc/whepViewer.ts";
import { readFixture } from "../fixtures/readFixture.ts";
import { feedRealtime } from "../helpers/feed.ts";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";
import { chromeLikeOffer } from "./chromeOffer.ts";

let server: TestServer | undefined;
afterEach(async () => {
  await checkAndClose(server);
  server = undefined;
});

test("a viewer that never connects is closed at the connect timeout, saying where it got stuck", async () => {
  server = await startTestServer();
  const session = server.registry.startSession("cam");
  const feed = feedRealtime(session, await readFixture("av.mpegts"), { durationMs: 2000 });
  try {
    const live = await server.registry.waitForOutput("cam", { timeoutMs: 5000 });
    const viewer = await WhepViewer.create({
      offerSdp: chromeLikeOffer(), // nobody behind it: no ICE check ever comes
      stream: live,
      registry: server.registry,
      slot: server.registry.reserveViewer("cam", 0),
      peers: server.peers,
      scheduler: server.scheduler,
      maxQueueBytes: 1_000_000,
      logger: server.logger,
      connectTimeoutMs: 300,
    });
    const reason = await new Promise<string>((resolve) => viewer.onClose(() => resolve(viewer.closeReason!)));
    expect(reason).toMatch(/^not connected after 300 ms \(ICE (new|checking), DTLS new\)$/);
  } finally {
    feed.stop();
    session.end("finished");
  }
});

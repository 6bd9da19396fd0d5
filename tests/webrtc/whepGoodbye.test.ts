import { afterEach, describe, expect, test } from "bun:test";
import type { IngestSession } from "../../lib/ingest/ingestSession.ts";
import { feedRealtime } from "../helpers/feed.ts";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";
import { whepPlay, type WhepTestClient } from "../helpers/wheriftClient.ts";
import { readFixture } from "../fixtures/readFixture.ts";
import { parseRtcpCompound } from "../../lib/rtp/rtcpPackets.ts";

/** The werift client's DTLS transport internals the test watches (werift 0.25.2). */
interface ClientDtlsTransport {
  state: string;
  onStateChange: { subscribe(listener: (state: string) => void): unknown };
  srtcp: { decrypt(data: Buffer): Buffer };
}

/** A goodbye must arrive at once, not after the viewer's 30 s consent timeout (RFC 7675). */
const GOODBYE_WITHIN_MS = 1000;

let server: TestServer | undefined;
const clients: WhepTestClient[] = [];
/** Streams a test started: ending them stops their feeds, before the leak check. */
const sessions: IngestSession[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const session of sessions.splice(0)) session.end("finished");
  await checkAndClose(server);
  server = undefined;
});

async function playLive(env: Record<string, string> = {}) {
  server = await startTestServer({ WHEP_MAX_VIEWERS: "0", ...env }, { listen: true });
  const session = server.registry.startSession("cam");
  sessions.push(session);
  const feed = feedRealtime(session, readFixture("av.mpegts"), { durationMs: 2000, loops: 10 });
  session.onEnd(() => feed.stop());
  const client = await whepPlay(`${server.url}/whep/cam`);
  clients.push(client);
  expect(client.response.status).toBe(201);
  await client.until(() => client.video.length > 10);
  return { client, viewer: server.viewers.list()[0]! };
}

/**
 * What the client hears of the server's goodbye: the SSRCs of an RTCP BYE
 * (werift's RTCP parser drops BYE packets, so its SRTCP decrypt is watched
 * and the plain compound read with ours), and its DTLS transport closing,
 * which werift does on an authentic close_notify alert.
 */
function watchGoodbye(client: WhepTestClient) {
  const dtls = client.pc.getTransceivers()[0]!.dtlsTransport as unknown as ClientDtlsTransport;
  const srtcp = dtls.srtcp;
  const decrypt = srtcp.decrypt.bind(srtcp);
  const bye = Promise.withResolvers<number[]>();
  srtcp.decrypt = (data) => {
    const plain = decrypt(data);
    for (const packet of parseRtcpCompound(plain)) if (packet.type === "bye") bye.resolve(packet.ssrcs);
    return plain;
  };
  const dtlsClosed = Promise.withResolvers<void>();
  dtls.onStateChange.subscribe((state) => state === "closed" && dtlsClosed.resolve());
  return { bye: bye.promise, dtlsClosed: dtlsClosed.promise };
}

function within<T>(promise: Promise<T>, what: string): Promise<T> {
  const timeout = Bun.sleep(GOODBYE_WITHIN_MS).then(() =>
    Promise.reject(new Error(`no ${what} within ${GOODBYE_WITHIN_MS} ms`))
  );
  return Promise.race([promise, timeout]);
}

/** DELETE the session (the server ends one viewer) and expect both goodbyes at the client. */
async function expectGoodbyeOnDelete(client: WhepTestClient): Promise<void> {
  const goodbye = watchGoodbye(client);
  const ssrc = client.video.at(-1)!.header.ssrc;
  expect((await fetch(`${server!.url}${client.location}`, { method: "DELETE" })).status).toBe(200);
  expect(await within(goodbye.bye, "RTCP BYE")).toContain(ssrc);
  await within(goodbye.dtlsClosed, "DTLS close (close_notify)");
}

describe("a viewer closed by the server says goodbye: RTCP BYE (RFC 3550 6.6) and DTLS close_notify (RFC 5246 7.2.1)", () => {
  test("after the hand-over (ViewerLink)", async () => {
    const { client, viewer } = await playLive();
    await client.until(() => viewer.handedOver, 10_000);
    await expectGoodbyeOnDelete(client);
  });

  test("before it, while werift holds the connection (WEBRTC_HANDOVER=off)", async () => {
    const { client, viewer } = await playLive({ WEBRTC_HANDOVER: "off" });
    expect(viewer.handedOver).toBe(false);
    await expectGoodbyeOnDelete(client);
  });

  test("on werift's own sockets, without the UDP mux (WEBRTC_UDP_ADDR=off: no hand-over either)", async () => {
    const { client, viewer } = await playLive({ WEBRTC_UDP_ADDR: "off" });
    expect(viewer.handedOver).toBe(false);
    await expectGoodbyeOnDelete(client);
  });
});

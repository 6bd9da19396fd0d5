/** Wisp's trickle clients (publisher, subscriber) against its trickle server, over real HTTP. */
import { afterEach, describe, expect, test } from "bun:test";
import { eventually } from "../helpers/eventually.ts";
import { unguessableId } from "../../lib/ids.ts";
import { TricklePublisher } from "../../lib/trickle/tricklePublisher.ts";
import { type SubscribedSegment, TrickleSubscriber } from "../../lib/trickle/trickleSubscriber.ts";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";

let server: TestServer | undefined;
const closers: Array<() => unknown> = [];

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  await checkAndClose(server);
  server = undefined;
});

async function channelUrl(): Promise<{ s: TestServer; name: string; url: string }> {
  server ??= await startTestServer({}, { listen: true });
  const s = server;
  const name = unguessableId();
  s.trickle.createChannel(name, { mimeType: "video/mp2t" });
  closers.push(() => s.trickle.removeChannel(name));
  return { s, name, url: `${s.url}/trickle/${name}` };
}

function track<T extends { close(): unknown }>(client: T): T {
  closers.push(() => client.close());
  return client;
}

async function text(segment: SubscribedSegment | undefined): Promise<string> {
  return await new Response(segment!.body).text();
}

describe("TricklePublisher and TrickleSubscriber", () => {
  test("segments written chunk by chunk arrive in order, each while it is written", async () => {
    const { url } = await channelUrl();
    const subscriber = track(new TrickleSubscriber(url));
    const publisher = track(new TricklePublisher(url));
    const first = subscriber.next(); // -1: waits for the next segment
    const post = publisher.next();
    expect(post.seq).toBe(0);
    post.write(new TextEncoder().encode("zero, "));
    const segment = (await first)!;
    expect(segment.seq).toBe(0);
    const reader = segment.body.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("zero, ");
    post.write(new TextEncoder().encode("still zero"));
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("still zero");
    expect(await post.end()).toMatchObject({ status: 200, seq: 0, closed: false });
    expect((await reader.read()).done).toBe(true);
    await publisher.writeSegment(new TextEncoder().encode("one"));
    const next = await subscriber.next();
    expect(next!.seq).toBe(1);
    expect(await text(next)).toBe("one");
  });

  test("a subscriber behind the window (470) jumps to Lp-Trickle-Latest and waits there", async () => {
    const { s, name, url } = await channelUrl();
    const publisher = track(new TricklePublisher(url));
    for (let i = 0; i < 8; i++) await publisher.writeSegment(new TextEncoder().encode(`segment ${i}`));
    const channel = s.trickle.channel(name)!;
    await eventually(() => channel.waiting === 1, "the publisher's preconnected POST for segment 8");
    const waitingBefore = channel.waiting;
    const subscriber = track(new TrickleSubscriber(url, { start: 0 }));
    const next = subscriber.next();
    // Segment 8 must come after the 470 sent the subscriber to wait at 8, else it would wait at 9.
    await eventually(() => channel.waiting > waitingBefore, "the subscriber to wait at Lp-Trickle-Latest");
    await publisher.writeSegment(new TextEncoder().encode("segment 8"));
    const segment = await next;
    expect(segment!.seq).toBe(8);
    expect(await text(segment)).toBe("segment 8");
  });

  test("the subscription ends (undefined) at Lp-Trickle-Closed; a publisher is told the channel is gone", async () => {
    const { s, name, url } = await channelUrl();
    const subscriber = track(new TrickleSubscriber(url, { start: -2 })); // the current segment, as ai-runner starts
    const publisher = track(new TricklePublisher(url));
    const written = publisher.next(); // its POST is open, and the next one preconnected
    written.write(new TextEncoder().encode("zero"));
    const reader = (await subscriber.next())!.body.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("zero");
    const next = subscriber.next();
    await Bun.sleep(20);
    s.trickle.removeChannel(name);
    expect(await next).toBeUndefined();
    expect((await reader.read()).done).toBe(true); // the segment being read ended with the channel
    expect(await subscriber.next()).toBeUndefined();
    expect(await written.end()).toMatchObject({ status: 200, closed: true }); // its segment was closed under it
    const refused = await publisher.writeSegment(new TextEncoder().encode("nobody reads this"));
    expect(refused).toMatchObject({ status: 200, closed: true }); // its preconnected POST was answered Lp-Trickle-Closed
    const gone = await publisher.writeSegment(new TextEncoder().encode("nor this"));
    expect(gone.status).toBe(404);
    expect(gone.message).toContain("does not exist");
  });

  test("close() ends the preconnected POST and DELETEs the channel, as go-livepeer's and ai-runner's publishers do", async () => {
    const { s, name, url } = await channelUrl();
    const publisher = new TricklePublisher(url);
    await publisher.writeSegment(new TextEncoder().encode("the only one"));
    await publisher.close();
    expect(s.trickle.channel(name)).toBeUndefined();
  });
});

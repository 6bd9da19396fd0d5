import { afterEach, describe, expect, test } from "bun:test";
import type { Socket } from "node:dgram";
import type { RTCPeerConnection } from "werift";
import type { IngestSession } from "../../lib/ingest/ingestSession.ts";
import type { WhepViewer } from "../../lib/webrtc/whepViewer.ts";
import { readFixture } from "../fixtures/readFixture.ts";
import { feedRealtime } from "../helpers/feed.ts";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";
import { ownUdpSockets } from "../helpers/udpSockets.ts";
import { whepPlay, type WhepTestClient } from "../helpers/wheriftClient.ts";

/**
 * Leak checks (pion's CheckRoutines, STYLE.md): a live server whose viewers
 * came and went is back where it started, checked BEFORE server.close()
 * empties everything. The viewers are real werift clients in this process, so
 * the socket and memory figures include theirs.
 */

const AV_6S = readFixture("av-6s.mpegts"); // 6 s, 640x360 H.264 (GOP 2 s) + Opus
const STREAM = "cam";
/** Viewers joining at once: more is a test of werift's DTLS retransmission on two cores, not of the server. */
const CONCURRENT_VIEWERS = 8;
/**
 * Viewers that come and go before memory is measured: the first ones build what is built once
 * (compiled code, interned strings: measured, the heap grows 5 MB over the first 100 and then stays).
 */
const WARM_UP_VIEWERS = 100;
/**
 * Heap growth allowed once everything is collected: ~3x the most observed (1.2 MB over 200
 * cycles; the console lines), so 200 viewers leaving 20 KB each behind fail, let alone 100 KB.
 */
const MAX_HEAP_GROWTH_BYTES = 4 * 2 ** 20;
/** RSS rarely shrinks (the allocator keeps freed pages): a bound against runaway growth only, ~3x observed (-4 to 40 MB). */
const MAX_RSS_GROWTH_BYTES = 128 * 2 ** 20;
/** werift retransmits a DTLS flight for up to 33 s (0.5 + 1 + ... + 5.5 s) and its timer holds the connection till then. */
const COLLECTED_WITHIN_MS = 40_000;

let server: TestServer | undefined;
let session: IngestSession | undefined;
const clients = new Set<WhepTestClient>();
/** After the tests' own checks (on the live server): the stream ends, then the shared leak check and teardown. */
afterEach(async () => {
  await Promise.all([...clients].map((c) => c.close()));
  clients.clear();
  session?.end("finished");
  session = undefined;
  await checkAndClose(server);
  server = undefined;
});

/** werift 0.25.2 client internals: each ICE agent's protocols and the UdpTransport (node:dgram socket) of each. */
interface WeriftUdpTransport {
  closed: boolean;
  socket: Socket;
}
interface WeriftIceAgentInternals {
  protocols: Array<{ transport?: Partial<WeriftUdpTransport> }>;
}

/** Things that must all end, by kind: counted as they start and as they end. */
class Tally {
  readonly #open = new Map<string, number>();
  readonly #listeners = new Set<() => void>();

  start(kind: string): void {
    this.#open.set(kind, (this.#open.get(kind) ?? 0) + 1);
  }

  end(kind: string): void {
    const left = (this.#open.get(kind) ?? 0) - 1;
    if (left > 0) this.#open.set(kind, left);
    else this.#open.delete(kind);
    if (this.#open.size === 0) { for (const listener of [...this.#listeners]) listener(); }
  }

  /** Resolves once nothing is open. */
  whenNone(): Promise<void> {
    if (this.#open.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const listener = () => (this.#listeners.delete(listener), resolve());
      this.#listeners.add(listener);
    });
  }

  toString(): string {
    return [...this.#open].map(([kind, n]) => `${n} ${kind}`).join(", ") || "nothing";
  }
}

type LiveServer = Awaited<ReturnType<typeof liveServer>>;

/** The real server on loopback with STREAM live, fed at real time, what it makes for viewers watched. */
async function liveServer() {
  server = await startTestServer({ WHEP_MAX_VIEWERS: "0" }, { listen: true });
  session = server.registry.startSession(STREAM);
  const feed = feedRealtime(session, AV_6S, { durationMs: 6000, loops: 100 });
  session.onEnd(() => feed.stop());
  await server.registry.waitForOutput(STREAM, { timeoutMs: 5000 });
  return { server, mux: server.mux!, ...watchViewerObjects(server) };
}

/**
 * Counts the server's werift peer connections until their close() completes,
 * and them, its WhepViewers and our clients' peer connections until they are
 * garbage-collected (counters and a FinalizationRegistry: keeping them would keep them alive).
 */
function watchViewerObjects(server: TestServer) {
  const unclosed = new Tally();
  const uncollected = new Tally();
  const finalization = new FinalizationRegistry<string>((kind) => uncollected.end(kind));
  const watch = (kind: string, target: object) => (uncollected.start(kind), finalization.register(target, kind));
  const create = server.peers.create.bind(server.peers);
  server.peers.create = () => {
    const pc = create();
    watch("server RTCPeerConnection", pc);
    unclosed.start("server RTCPeerConnection");
    const close = pc.close.bind(pc);
    let closing: Promise<void> | undefined;
    pc.close = () => (closing ??= close().finally(() => unclosed.end("server RTCPeerConnection")));
    return pc;
  };
  const add = server.viewers.add.bind(server.viewers);
  server.viewers.add = (viewer) => (watch("WhepViewer", viewer), add(viewer));
  return { unclosed, uncollected, watch, finalization };
}

/** Resolves once every watched object is collected; an idle process collects nothing by itself, so a full GC runs meanwhile. */
async function allCollected(live: LiveServer): Promise<void> {
  const gc = setInterval(() => Bun.gc(true), 100);
  try {
    await within(live.uncollected.whenNone(), COLLECTED_WITHIN_MS, () => `garbage collection of ${live.uncollected}`);
  } finally {
    clearInterval(gc);
  }
}

function memory(): { heapUsed: number; rss: number } {
  Bun.gc(true);
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss };
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;

/** The mux's and the process's figures before any viewer, and memory once WARM_UP_VIEWERS came, went and were collected. */
async function baseline(live: LiveServer) {
  const before = {
    transports: live.mux.transportCount,
    routes: live.mux.routeCount,
    sockets: ownUdpSockets(),
    ...memory(),
  };
  await inParallel(WARM_UP_VIEWERS, CONCURRENT_VIEWERS, () => visit(live));
  await allCollected(live);
  const warm = memory();
  console.log(
    `memory before any viewer: heap ${mb(before.heapUsed)}, rss ${
      mb(before.rss)
    }; after ${WARM_UP_VIEWERS} came and went: heap ${mb(warm.heapUsed)}, rss ${mb(warm.rss)}`,
  );
  return { ...before, ...warm };
}

/** Everything departed viewers held is back to `base`: checked on the live server, before close(). */
async function expectBaseline(
  live: LiveServer,
  base: Awaited<ReturnType<typeof baseline>>,
  label: string,
): Promise<void> {
  const { server, mux } = live;
  expect(server.viewers.size).toBe(0);
  expect(server.registry.viewerCount(STREAM)).toBe(0);
  expect(server.registry.waitingFor(STREAM)).toBe(0);
  await within(live.unclosed.whenNone(), 10_000, () => `close() of ${live.unclosed}`);
  expect(mux.transportCount).toBe(base.transports);
  expect(mux.routeCount).toBe(base.routes);
  expect(ownUdpSockets()).toEqual(base.sockets);
  await allCollected(live);
  const now = memory();
  const growth = { heap: now.heapUsed - base.heapUsed, rss: now.rss - base.rss };
  console.log(
    `${label}: heap ${mb(base.heapUsed)} -> ${mb(now.heapUsed)} (${mb(growth.heap)}), rss ${mb(base.rss)} -> ${
      mb(now.rss)
    } (${mb(growth.rss)})`,
  );
  expect(growth.heap).toBeLessThan(MAX_HEAP_GROWTH_BYTES);
  expect(growth.rss).toBeLessThan(MAX_RSS_GROWTH_BYTES);
}

/** Rejects naming `what` when `promise` has not settled within `ms`; leaves no timer behind. */
async function within<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((
    _,
    reject,
  ) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what()}`)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

interface Viewer {
  client: WhepTestClient;
  transports: WeriftUdpTransport[];
  socketsClosed: Promise<void>;
}

/** A werift viewer of STREAM, connected (ICE + DTLS: the connected event) and receiving RTP. */
async function connectedViewer(live: LiveServer): Promise<Viewer> {
  const client = await whepPlay(`${live.server.url}/whep/${STREAM}`);
  clients.add(client);
  live.watch("client RTCPeerConnection", client.pc);
  expect(client.response.status).toBe(201);
  const transports = clientTransports(client); // its sockets, watched from now on
  const socketsClosed = Promise.all(transports.map((t) => whenClosed(t.socket))).then(() => {});
  await within(connected(client.pc), 15_000, () => `the client to connect (${client.pc.connectionState})`);
  await client.until(() => client.video.length + client.audio.length > 0, 15_000);
  return { client, transports, socketsClosed };
}

/** A viewer's whole visit: connect, receive, DELETE, close; its sockets closed. */
async function visit(live: LiveServer): Promise<void> {
  const { client, socketsClosed } = await connectedViewer(live);
  const del = await fetch(`${live.server.url}${client.location}`, { method: "DELETE" });
  expect(del.status).toBe(200);
  await client.close();
  clients.delete(client);
  await within(socketsClosed, 5000, () => "the client's UDP sockets to close");
}

function connected(pc: RTCPeerConnection): Promise<void> {
  if (pc.connectionState === "connected") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const { unSubscribe } = pc.connectionStateChange.subscribe((state) => {
      if (state === "connected") resolve();
      else if (state === "failed" || state === "closed") reject(new Error(`client peer connection ${state}`));
      else return;
      unSubscribe();
    });
  });
}

/** The werift client's UDP transports: one per ICE agent and gathered address (UdpTransport.init), the spare agent's too. */
function clientTransports(client: WhepTestClient): WeriftUdpTransport[] {
  const agents = client.transports.map((t) => t.iceTransport.connection as unknown as WeriftIceAgentInternals);
  return agents.flatMap((agent) =>
    agent.protocols.flatMap((p) => (p.transport?.socket ? [p.transport as WeriftUdpTransport] : []))
  );
}

/** Resolves on the socket's close event (at once if it is closed already: address() then throws). */
function whenClosed(socket: Socket): Promise<void> {
  try {
    socket.address();
  } catch {
    return Promise.resolve();
  }
  return new Promise((resolve) => socket.once("close", () => resolve()));
}

/**
 * The viewer's machine drops off the network: its sockets close with nothing
 * said (no DELETE, no DTLS alert, no RTCP BYE), so the server's packets meet
 * ICMP port-unreachable and its consent checks go unanswered. werift's client
 * is then closed to stop its timers; it has no socket left to say anything with.
 */
async function vanish({ client, transports, socketsClosed }: Viewer): Promise<void> {
  for (const transport of transports) {
    transport.closed = true; // werift's StunProtocol sends nothing on a closed transport
    transport.socket.close();
  }
  await within(socketsClosed, 5000, () => "the client's UDP sockets to close");
  await client.close();
  clients.delete(client);
}

/** Runs `total` jobs, `width` at a time; stops starting new ones after a failure. */
async function inParallel(total: number, width: number, job: () => Promise<void>): Promise<void> {
  let started = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && started++ < total) {
      await job().catch((error) => {
        failed = true;
        throw error;
      });
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
}

const seconds = (from: number, to = performance.now()) => `${((to - from) / 1000).toFixed(1)} s`;

describe("viewers that come and go leave a live server as it was", () => {
  test(
    "200 WHEP connect/DELETE cycles: no viewer, place, peer connection, route, socket or memory left behind",
    async () => {
      const started = performance.now();
      const live = await liveServer();
      const base = await baseline(live);
      await inParallel(200, CONCURRENT_VIEWERS, () => visit(live));
      await expectBaseline(live, base, `200 cycles, ${seconds(started)} in all`);
    },
    120_000,
  );

  test(
    "50 viewers that vanish without a goodbye are closed by ICE consent (RFC 7675), leaving nothing behind",
    async () => {
      const started = performance.now();
      const live = await liveServer();
      const base = await baseline(live);
      const viewers: Array<Viewer & { viewer: WhepViewer }> = [];
      await inParallel(50, CONCURRENT_VIEWERS, async () => {
        const joined = await connectedViewer(live);
        const viewer = live.server.viewers.get(STREAM, joined.client.location!.split("/").at(-1)!)!;
        // From the hand-over on, consent is the ViewerLink's (lib/webrtc/viewerLink.ts): 30 s without an answer to its checks.
        await joined.client.until(() => viewer.handedOver, 15_000);
        viewers.push({ ...joined, viewer });
      });
      const closed = Promise.all(
        viewers.map(({ viewer }) => new Promise<number>((resolve) => viewer.onClose(() => resolve(performance.now())))),
      );
      const vanishedAt = performance.now();
      await Promise.all(viewers.map(vanish));
      const closedAt = await within(closed, 45_000, () => `${live.server.viewers.size} of 50 server viewers to close`);
      const closedAfter = `${seconds(vanishedAt, Math.min(...closedAt))} to ${
        seconds(vanishedAt, Math.max(...closedAt))
      }`;
      for (const { viewer } of viewers) expect(viewer.closeReason).toMatch(/^ICE consent expired/);
      viewers.length = 0; // nothing of theirs kept for the memory figures
      await expectBaseline(
        live,
        base,
        `50 vanished viewers closed by the server ${closedAfter} after they went, ${seconds(started)} in all`,
      );
    },
    90_000,
  );
});

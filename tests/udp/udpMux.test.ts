import { afterEach, describe, expect, test } from "bun:test";
import { classes, Message, methods } from "werift";
import { bindingRequestLocalUfrag, UdpMux } from "../../lib/udp/udpMux.ts";
import { buildBindingRequest } from "../../lib/webrtc/stunMessage.ts";
import type { IngestSession } from "../../lib/ingest/ingestSession.ts";
import { silentLogger } from "../../lib/logger.ts";
import { readFixture } from "../fixtures/readFixture.ts";
import { trackChild } from "../helpers/children.ts";
import { feedRealtime } from "../helpers/feed.ts";
import { eventually } from "../helpers/eventually.ts";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";
import { ownUdpSockets } from "../helpers/udpSockets.ts";
import { whepPlay } from "../helpers/wheriftClient.ts";
import { parseSps } from "../../lib/codec/h264.ts";

let server: TestServer | undefined;
/** Streams a test started: ending them stops their feeds and closes their viewers, before the leak check. */
const sessions: IngestSession[] = [];
afterEach(async () => {
  for (const session of sessions.splice(0)) session.end("finished");
  await checkAndClose(server);
  server = undefined;
});

/** Starts `name` fed with `bytes` at real time; the feed stops when the session ends. */
function liveSession(s: TestServer, name: string, bytes: Uint8Array, options: { durationMs: number; loops: number }) {
  const session = s.registry.startSession(name);
  sessions.push(session);
  const feed = feedRealtime(session, bytes, options);
  session.onEnd(() => feed.stop());
}

describe("bindingRequestLocalUfrag", () => {
  test("reads our ufrag from a Binding request's USERNAME", () => {
    const request = new Message(methods.BINDING, classes.REQUEST);
    request.setAttribute("USERNAME", "abcd:wxyz");
    expect(bindingRequestLocalUfrag(request.bytes)).toBe("abcd");
  });

  test("ignores responses, non-STUN packets (DTLS, RTP) and short data", () => {
    expect(bindingRequestLocalUfrag(new Message(methods.BINDING, classes.RESPONSE).bytes)).toBeUndefined();
    expect(bindingRequestLocalUfrag(Uint8Array.of(22, 254, 253, ...new Array(30).fill(0)))).toBeUndefined(); // DTLS
    expect(bindingRequestLocalUfrag(Uint8Array.of(0x80, 96, ...new Array(30).fill(0)))).toBeUndefined(); // RTP
    expect(bindingRequestLocalUfrag(Uint8Array.of(0, 1, 0))).toBeUndefined();
  });
});

/** The resolution in the first STAP-A's SPS: which stream a viewer is watching. */
function firstSpsSize(payloads: Buffer[]): string {
  const stap = payloads.find((p) => (p[0]! & 0x1f) === 24)!;
  const size = (stap[1]! << 8) | stap[2]!;
  const sps = parseSps(stap.subarray(3, 3 + size))!;
  return `${sps.width}x${sps.height}`;
}

describe.each(
  [
    [true, "sendmmsg+gso"],
    [false, "sendMany"],
  ] as const,
)("UdpMux.send (gso: %p)", (gso, method) => {
  test(`sends with ${method} on this machine`, async () => {
    const mux = await UdpMux.open({ port: 0, address: "127.0.0.1", logger: silentLogger, gso });
    expect(mux.sendMethod).toBe(method);
    await mux.close();
  });

  test("close() sends what is queued; later datagrams are dropped, never written to a stale descriptor", async () => {
    const mux = await UdpMux.open({ port: 0, address: "127.0.0.1", logger: silentLogger, gso });
    let received = 0;
    let lastArrived = false;
    const peer = await Bun.udpSocket({
      hostname: "127.0.0.1",
      port: 0,
      socket: { data: (_s, data) => void (data[0] === 0xee ? (lastArrived = true) : received++) },
    });
    const other = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
    try {
      mux.queueWith(100, ["127.0.0.1", peer.port], (into, at) => into.fill(1, at, at + 100));
      await mux.close();
      mux.queueWith(100, ["127.0.0.1", peer.port], (into, at) => into.fill(2, at, at + 100));
      mux.send(Buffer.alloc(100), ["127.0.0.1", peer.port]);
      mux.flush();
      // Once this turn's microtasks (where the mux flushes) have run, a datagram from another socket arrives
      // after anything the mux sent: loopback delivers at send time.
      await new Promise((resolve) => setImmediate(resolve));
      other.send(Uint8Array.of(0xee), peer.port, "127.0.0.1");
      await eventually(() => lastArrived, "the datagram sent after the mux's");
      expect(received).toBe(1);
      expect(mux.stats.datagramsSent).toBe(1);
    } finally {
      peer.close();
      other.close();
    }
  });

  test("queueRun: a frame's datagrams written by one call arrive one by one, in order; a run longer than a batch is refused", async () => {
    const mux = await UdpMux.open({ port: 0, address: "127.0.0.1", logger: silentLogger, gso });
    const received: Buffer[] = [];
    const peer = await Bun.udpSocket({
      hostname: "127.0.0.1",
      port: 0,
      socket: { data: (_s, data) => void received.push(Buffer.from(data)) },
    });
    try {
      const lengths = Int32Array.of(1200, 1200, 1200, 700); // a GSO run and its shorter last segment
      const write = (into: Uint8Array, at: number) =>
        lengths.forEach((length, i) => into.fill(i + 1, at + 1200 * i, at + 1200 * i + length));
      mux.queueWith(50, ["127.0.0.1", peer.port], (into, at) => into.fill(9, at, at + 50)); // something queued before it
      expect(mux.queueRun(lengths, 4300, ["127.0.0.1", peer.port], write)).toBe(true);
      expect(mux.queueRun(new Int32Array(129).fill(100), 12_900, ["127.0.0.1", peer.port], () => {})).toBe(false);
      await eventually(() => received.length >= 5, () => `5 datagrams (${received.length} arrived)`);
      expect(received.map((d) => [d.length, d[0], d.at(-1)])).toEqual([[50, 9, 9], [1200, 1, 1], [1200, 2, 2], [
        1200,
        3,
        3,
      ], [700, 4, 4]]);
      expect(mux.stats.datagramsSent).toBe(5);
    } finally {
      peer.close();
      await mux.close();
    }
  });

  test("a departed peer's ICMP errors cost the other peers nothing", async () => {
    const mux = await UdpMux.open({ port: 0, address: "127.0.0.1", logger: silentLogger, gso });
    let received = 0;
    const live = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0, socket: { data: () => void received++ } });
    const gone = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
    const gonePort = gone.port;
    gone.close(); // its port now answers with ICMP port-unreachable
    try {
      for (let i = 0; i < 50; i++) {
        mux.send(Buffer.alloc(100), ["127.0.0.1", gonePort]);
        await Bun.sleep(1); // the ICMP error arrives and waits on the mux socket
        mux.send(Buffer.alloc(100), ["127.0.0.1", live.port]);
      }
      await eventually(() => received >= 50, () => `50 datagrams to the live peer (${received} arrived)`, {
        timeoutMs: 2000,
      });
      expect(received).toBe(50);
      // The errors did arrive (on a receive or the next send), and were absorbed.
      expect(mux.stats.sendRetries + mux.stats.socketErrors).toBeGreaterThan(0);
    } finally {
      live.close();
      await mux.close();
    }
  });
});

describe("MuxedTransport hand-over", () => {
  test("keeps the last DTLS flight sent, routes to its successor, and drops what werift sends after", async () => {
    const mux = await UdpMux.open({ port: 0, address: "127.0.0.1", logger: silentLogger });
    const peer = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0, socket: { data: () => {} } });
    try {
      const to: [string, number] = ["127.0.0.1", peer.port];
      const transport = mux.createTransport(() => "ours", () => PASSWORD);
      const dtls = (type: number, tag: number) => Buffer.from([type, 0xfe, 0xfd, tag]);
      transport.receive(dtls(22, 1), to); // ClientHello
      await transport.send(dtls(22, 2), to); // ServerHello ... one flight of two datagrams
      await transport.send(dtls(22, 3), to);
      expect(transport.lastDtlsFlight.map((d) => d[3])).toEqual([2, 3]);
      transport.receive(dtls(22, 4), to); // the client's Finished flight
      await transport.send(dtls(20, 5), to); // our ChangeCipherSpec + Finished: a new flight
      await transport.send(Buffer.from([0x80, 200, 0, 1]), to); // RTCP is not part of it
      expect(transport.lastDtlsFlight.map((d) => d[3])).toEqual([5]);

      const received: Buffer[] = [];
      const successor = transport.handOver();
      successor.onData = (data) => received.push(data);
      expect(successor.lastDtlsFlight.map((d) => d[3])).toEqual([5]);
      mux.receive(bindingRequest("ours", PASSWORD), to); // first contact binds the route to the successor
      expect(received).toHaveLength(1);
      const sentBefore = mux.stats.datagramsSent;
      await transport.send(dtls(21, 6), to); // werift's goodbye after the hand-over: dropped
      await transport.close(); // and its close leaves the successor's route alone
      expect(mux.stats.datagramsSent).toBe(sentBefore);
      mux.receive(dtls(23, 7), to);
      expect(received).toHaveLength(2);
    } finally {
      peer.close();
      await mux.close();
    }
  });
});

const PASSWORD = "our-ice-password-0123456";

/** A browser's connectivity check to `ufrag` (RFC 8445 7.2.2), MESSAGE-INTEGRITY keyed with `password`. */
function bindingRequest(ufrag: string, password: string): Buffer {
  const transactionId = crypto.getRandomValues(new Uint8Array(12));
  return Buffer.from(
    buildBindingRequest({ transactionId, username: `${ufrag}:theirs`, password, priority: 1, iceControlling: 1n }),
  );
}

/** The same check with no MESSAGE-INTEGRITY at all (werift's Message adds none unless asked). */
function bindingRequestWithoutIntegrity(ufrag: string): Buffer {
  const request = new Message(methods.BINDING, classes.REQUEST);
  request.setAttribute("USERNAME", `${ufrag}:theirs`);
  return Buffer.from(request.bytes);
}

describe("UdpMux first contact: a route only for a check our ICE password verifies (RFC 8445 7.3, RFC 5389 10.1.2)", () => {
  const from: [string, number] = ["192.0.2.7", 50_000];
  const dtls = Buffer.from([22, 0xfe, 0xfd, 0]);

  /** A mux with one connection ("ours", PASSWORD) and what reached that connection. */
  async function muxWithOneConnection() {
    const mux = await UdpMux.open({ port: 0, address: "127.0.0.1", logger: silentLogger });
    const received: Buffer[] = [];
    const transport = mux.createTransport(() => "ours", () => PASSWORD);
    transport.onData = (data) => received.push(data);
    return { mux, transport, received };
  }

  test.each([
    ["a wrong password", () => bindingRequest("ours", "guessed-password-0123456")],
    ["no MESSAGE-INTEGRITY", () => bindingRequestWithoutIntegrity("ours")],
    ["another connection's password", () => bindingRequest("ours", "the-other-password-01234")],
  ])("a check with our ufrag and %s binds no route, is dropped and counted", async (_, check) => {
    const { mux, received } = await muxWithOneConnection();
    const other = mux.createTransport(() => "other", () => "the-other-password-01234");
    try {
      mux.receive(check(), from);
      mux.receive(dtls, from); // and what follows from that address goes nowhere
      expect(mux.routeCount).toBe(0);
      expect(received).toHaveLength(0);
      expect(mux.stats).toMatchObject({ integrityRefused: 1, unroutable: 1, routed: 0 });
    } finally {
      await other.close();
      await mux.close();
    }
  });

  test("a check our password verifies binds the route; later datagrams from there are not parsed", async () => {
    const { mux, received } = await muxWithOneConnection();
    try {
      mux.receive(bindingRequest("ours", "guessed-password-0123456"), from); // a forger first: costs the peer nothing
      mux.receive(bindingRequest("ours", PASSWORD), from);
      mux.receive(dtls, from);
      mux.receive(bindingRequestWithoutIntegrity("ours"), from); // routed: werift's to judge, not the mux's
      expect(mux.routeCount).toBe(1);
      expect(received).toHaveLength(3);
      expect(mux.stats).toMatchObject({ integrityRefused: 1, unroutable: 0, routed: 3 });
    } finally {
      await mux.close();
    }
  });

  test("after the hand-over the successor's route needs the same password", async () => {
    const { mux, transport } = await muxWithOneConnection();
    try {
      const successor = transport.handOver();
      const received: Buffer[] = [];
      successor.onData = (data) => received.push(data);
      mux.receive(bindingRequest("ours", "guessed-password-0123456"), from);
      mux.receive(bindingRequestWithoutIntegrity("ours"), from);
      expect(mux.routeCount).toBe(0);
      expect(mux.stats.integrityRefused).toBe(2);
      mux.receive(bindingRequest("ours", PASSWORD), from);
      expect(mux.routeCount).toBe(1);
      expect(received).toHaveLength(1);
      await successor.close();
      expect(mux.routeCount).toBe(0);
    } finally {
      await mux.close();
    }
  });
});

describe("all WebRTC media on one UDP port", () => {
  test("50 viewers over 3 streams: one socket, candidates on the mux port, no cross-talk", async () => {
    server = await startTestServer({ WHEP_MAX_VIEWERS: "0" }, { listen: true });
    const muxPort = server.webrtc.mux!.port;
    const streams = {
      big: readFixture("av-6s.mpegts"),
      small: readFixture("av.mpegts"),
      plain: readFixture("video-only.mpegts"),
    };
    const sizes: Record<string, string> = { big: "640x360", small: "320x180", plain: "320x180" };
    for (const [name, bytes] of Object.entries(streams)) {
      liveSession(server, name, bytes, {
        durationMs: name === "big" ? 6000 : name === "small" ? 2000 : 4000,
        loops: 20,
      });
    }
    const names = Object.keys(streams);
    // Viewers join in waves of ten: 51 werift handshakes at once on two cores is a test of werift's
    // DTLS retransmission, not of the mux.
    const viewers = [];
    for (let wave = 0; wave < 51; wave += 10) {
      const joining = [];
      for (let i = wave; i < Math.min(51, wave + 10); i++) joining.push(whepPlay(`${server.url}/whep/${names[i % 3]}`));
      viewers.push(...(await Promise.all(joining)));
    }
    try {
      for (const v of viewers) {
        expect(v.response.status).toBe(201);
        const candidates = [...v.answer.matchAll(/a=candidate:\S+ \d+ udp \d+ (\S+) (\d+) typ host/g)];
        expect([...new Set(candidates.map((m) => `${m[1]}:${m[2]}`))]).toEqual([`127.0.0.1:${muxPort}`]);
      }
      await Promise.all(viewers.map((v) => v.until(() => v.video.length > 30, 30_000))).catch((error: Error) => {
        // Say what the server thinks of its viewers, so a rare failure here can be told apart.
        const states = server!.viewers.list().map((v) =>
          `${v.connectionState}${v.handedOver ? "/handed over" : ""} ${v.closeReason ?? ""}`
        );
        throw new Error(
          `${error.message}; server viewers: ${JSON.stringify(states)}; mux ${
            JSON.stringify(server!.webrtc.mux!.stats)
          }`,
        );
      });
      viewers.forEach((v, i) => {
        const name = names[i % 3]!;
        expect(firstSpsSize(v.video.map((p) => p.payload))).toBe(sizes[name]!);
        // Only the SSRCs announced in its own answer reach a viewer.
        const announced = new Set([...v.answer.matchAll(/a=ssrc:(\d+) /g)].map((m) => Number(m[1])));
        for (const p of [...v.video, ...v.audio]) expect(announced.has(p.header.ssrc)).toBe(true);
        if (name === "plain") expect(v.audio.length).toBe(0);
      });
      // One muxed transport per viewer and gathered address (the announced one and the interfaces).
      expect(server.webrtc.mux!.transportCount).toBeGreaterThanOrEqual(51);
      // Every real viewer's first check carried a MESSAGE-INTEGRITY its connection's password verifies.
      expect(server.webrtc.mux!.stats.integrityRefused).toBe(0);
    } finally {
      await Promise.all(viewers.map((v) => v.close()));
    }
  });

  test("200 connect/disconnect cycles leave the one socket and no routes behind", async () => {
    server = await startTestServer({ WHEP_MAX_VIEWERS: "0" }, { listen: true });
    const mux = server.webrtc.mux!;
    liveSession(server, "cam", readFixture("av.mpegts"), { durationMs: 2000, loops: 100 });
    const serverSockets = () => ownUdpSockets().filter((s) => s.startsWith("127.0.0.1:")); // test clients bind 0.0.0.0
    for (let round = 0; round < 20; round++) {
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          const client = await whepPlay(`${server!.url}/whep/cam`);
          await client.until(() => client.video.length + client.audio.length > 0);
          await fetch(`${server!.url}${client.location}`, { method: "DELETE" });
          await client.close();
        }),
      );
    }
    // Closing a viewer closes werift's ICE agent, which closes its muxed transport.
    await eventually(
      () => mux.transportCount === 0,
      () => `the muxed transports to close (${mux.transportCount} open)`,
      { intervalMs: 20 },
    );
    expect(mux.transportCount).toBe(0);
    expect(mux.routeCount).toBe(0);
    expect(server.viewers.size).toBe(0);
    expect(serverSockets()).toEqual([`127.0.0.1:${mux.port}`]);
  });

  test("20 viewers in another process add no UDP socket to the server", async () => {
    server = await startTestServer({ WHEP_MAX_VIEWERS: "0" }, { listen: true });
    liveSession(server, "cam", readFixture("av.mpegts"), { durationMs: 2000, loops: 100 });
    const proc = trackChild(
      Bun.spawn([
        process.execPath,
        new URL("../helpers/viewerProcess.ts", import.meta.url).pathname,
        `${server.url}/whep/cam`,
        "20",
      ], {
        stdout: "pipe",
        stderr: "inherit",
      }),
    );
    const before = ownUdpSockets();
    try {
      const { value } = await proc.stdout.getReader().read();
      expect(new TextDecoder().decode(value)).toContain("ready");
      expect(server.viewers.size).toBe(20);
      // 20 viewers connected and receiving, and not one socket more in this (the server's) process.
      expect(ownUdpSockets()).toEqual(before);
      expect(before).toContain(`127.0.0.1:${server.webrtc.mux!.port}`);
    } finally {
      proc.kill("SIGKILL");
      await proc.exited;
    }
  });
});

import { afterEach, describe, expect, test } from "bun:test";
import type { udp } from "bun";
import { DatagramBatch } from "../../lib/udp/datagramBatch.ts";
import { GsoBatchSender } from "../../lib/udp/gsoBatchSender.ts";
import { findUdpSocketFd, ipv4Bytes, type Libc, libcUdp } from "../../lib/udp/libcUdp.ts";
import { eventually } from "../helpers/eventually.ts";

const libc = libcUdp()!;
const sockets: udp.Socket<"buffer">[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

/** A receiving socket that keeps what arrives, in order. */
async function receiver(): Promise<{ port: number; got: Buffer[] }> {
  const got: Buffer[] = [];
  const socket = await Bun.udpSocket({
    hostname: "127.0.0.1",
    port: 0,
    socket: { data: (_s, data) => void got.push(Buffer.from(data)) },
  });
  sockets.push(socket);
  return { port: socket.port, got };
}

async function senderSocket(): Promise<{ fd: number }> {
  const socket = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
  sockets.push(socket);
  return { fd: findUdpSocketFd(libc, "127.0.0.1", socket.port)! };
}

/** libc with sendmmsg's message counts recorded (and, optionally, a refusal injected). */
function recordingLibc(refuseGsoWith?: number): { libc: Libc; calls: number[] } {
  const calls: number[] = [];
  let refused = false;
  const wrapped = {
    ...libc,
    sendmmsg: (fd: number, vec: Uint8Array, count: number, flags: number) => {
      calls.push(count);
      if (refuseGsoWith !== undefined && !refused) {
        refused = true;
        return -1;
      }
      return libc.sendmmsg(fd, vec, count, flags);
    },
    errno: () => (refused ? refuseGsoWith! : libc.errno()),
  } satisfies Libc;
  return { libc: wrapped, calls };
}

/** Datagram i of a test: its length, filled with a byte that tells it apart. */
function datagram(length: number, tag: number): Buffer {
  return Buffer.alloc(length, tag);
}

function queue(batch: DatagramBatch, port: number, lengths: number[], firstTag = 0): Buffer[] {
  const sent = lengths.map((length, i) => datagram(length, firstTag + i));
  for (const d of sent) batch.add(d, "127.0.0.1", port);
  return sent;
}

/** A sender on a fresh socket whose sendmmsg calls are recorded, and an empty batch. */
async function setUp(
  options: { maxDatagrams?: number; refuseGsoWith?: number; onGsoUnavailable?: (errno: number) => void } = {},
) {
  const maxDatagrams = options.maxDatagrams ?? 64;
  const { fd } = await senderSocket();
  const { libc: recording, calls } = recordingLibc(options.refuseGsoWith);
  const sender = new GsoBatchSender(recording, fd, maxDatagrams, options.onGsoUnavailable ?? (() => {}));
  const batch = new DatagramBatch({ maxDatagrams, slabBytes: maxDatagrams * 1024 });
  return { sender, batch, calls };
}

describe("GsoBatchSender", () => {
  test("each destination's run leaves as one GSO message, datagram boundaries and order kept", async () => {
    const [a, b] = [await receiver(), await receiver()];
    const { sender, batch, calls } = await setUp();
    const toA = queue(batch, a.port, [1200, 1200, 1200, 1200, 1200, 600], 1);
    const toB = queue(batch, b.port, [1200, 1200, 1200], 20);

    expect(sender.send(batch, 0)).toBe(9);
    await eventually(() => a.got.length >= 6 && b.got.length >= 3, "9 datagrams");
    expect(calls).toEqual([2]); // one system call, one message per destination
    expect(sender.kind).toBe("sendmmsg+gso");
    expect(a.got).toEqual(toA);
    expect(b.got).toEqual(toB);
  });

  test("a longer datagram after a shorter one starts a new message; one over 1252 bytes is never grouped", async () => {
    const a = await receiver();
    const { sender, batch, calls } = await setUp();
    const sent = queue(batch, a.port, [1200, 500, 1200, 1240, 100, 1300, 1300]);

    expect(sender.send(batch, 0)).toBe(7);
    await eventually(() => a.got.length >= 7, "7 datagrams");
    expect(calls).toEqual([5]); // [1200, 500], [1200], [1240, 100], [1300], [1300]
    expect(a.got).toEqual(sent);
  });

  test("a run longer than the kernel's 64 segments is split, and all 130 datagrams arrive in order", async () => {
    const a = await receiver();
    const { sender, batch, calls } = await setUp({ maxDatagrams: 256 });
    // Small datagrams: 130 at once must fit the receiver's socket buffer.
    const sent = queue(batch, a.port, new Array(130).fill(200));

    expect(sender.send(batch, 0)).toBe(130);
    await eventually(() => a.got.length >= 130, "130 datagrams");
    expect(calls).toEqual([3]); // 64 + 64 + 2
    expect(a.got).toEqual(sent);
  });

  test("sends from the middle of a batch (a retry after a refused datagram)", async () => {
    const a = await receiver();
    const { sender, batch } = await setUp();
    const sent = queue(batch, a.port, [1200, 1200, 1200, 800]);

    expect(sender.send(batch, 2)).toBe(2);
    await eventually(() => a.got.length >= 2, "2 datagrams");
    expect(a.got).toEqual(sent.slice(2));
  });

  test("where the kernel refuses GSO it says so once, and the retry sends the datagrams one by one", async () => {
    const a = await receiver();
    const refusals: number[] = [];
    // EINVAL, as without UDP_SEGMENT support
    const { sender, batch, calls } = await setUp({
      refuseGsoWith: 22,
      onGsoUnavailable: (errno) => refusals.push(errno),
    });
    const sent = queue(batch, a.port, [1200, 1200, 700]);

    expect(sender.send(batch, 0)).toBe(0);
    expect(sender.kind).toBe("sendmmsg");
    expect(refusals).toEqual([22]);
    expect(sender.send(batch, 0)).toBe(3);
    await eventually(() => a.got.length >= 3, "3 datagrams");
    expect(calls).toEqual([1, 3]);
    expect(a.got).toEqual(sent);
  });

  test("datagrams for a host that is not IPv4 are skipped and counted; the others leave", async () => {
    const a = await receiver();
    const { sender, batch } = await setUp();
    batch.add(datagram(100, 1), "::1", a.port);
    const sent = queue(batch, a.port, [100], 2);

    expect(sender.send(batch, 0)).toBe(2);
    await eventually(() => a.got.length >= 1, "1 datagram");
    expect(sender.unaddressable).toBe(1);
    expect(a.got).toEqual(sent);
  });
});

describe("findUdpSocketFd", () => {
  test("finds the descriptor of a Bun UDP socket by its bound address, and nothing for an unbound one", async () => {
    const socket = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
    sockets.push(socket);
    const fd = findUdpSocketFd(libc, "127.0.0.1", socket.port);
    expect(fd).toBeGreaterThan(2);
    const closed = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
    const freePort = closed.port;
    closed.close();
    expect(findUdpSocketFd(libc, "127.0.0.1", freePort)).toBeUndefined();
  });
});

describe("ipv4Bytes", () => {
  test.each([
    ["127.0.0.1", [127, 0, 0, 1]],
    ["10.255.0.7", [10, 255, 0, 7]],
    ["::1", undefined],
    ["1.2.3", undefined],
    ["1.2.3.256", undefined],
    ["a.b.c.d", undefined],
  ])("%s", (host, bytes) => {
    expect(ipv4Bytes(host)).toEqual(bytes as [number, number, number, number] | undefined);
  });
});

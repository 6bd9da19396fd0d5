// test layer: loopback
/**
 * What every runtime behind lib/runtime must do, as cases both test runners
 * take: runtime.test.ts runs them under `bun test`, runtimeCases.deno.ts under
 * `deno test`. Assertions come from node:assert, which both runtimes have.
 */
import assert from "node:assert/strict";
import { createCipheriv, randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { spawn } from "../../lib/runtime/childProcess.ts";
import { createHmacSha1 } from "../../lib/runtime/hmacSha1.ts";
import { serveHttp } from "../../lib/runtime/httpServer.ts";
import { libc } from "../../lib/runtime/libc.ts";
import { libcrypto } from "../../lib/runtime/libcrypto.ts";
import { runtime } from "../../lib/runtime/runtime.ts";
import { openUdpSocket, type UdpSocket, type UdpSocketHandlers } from "../../lib/runtime/udpSocket.ts";
import { DatagramBatch } from "../../lib/udp/datagramBatch.ts";
import { GsoBatchSender } from "../../lib/udp/gsoBatchSender.ts";
import { findUdpSocketFd } from "../../lib/udp/libcUdp.ts";

export interface RuntimeCase {
  name: string;
  run(): void | Promise<void>;
}

const LOCALHOST = "127.0.0.1";
const EBADF = 9;
const SRTP_FRAME_C = fileURLToPath(new URL("../../lib/srtp/srtpFrame.c", import.meta.url));

/** What a socket received, awaited by count (woken by each datagram, bounded by a timeout). */
class Inbox {
  readonly datagrams: Array<{ data: Buffer; host: string; port: number }> = [];
  readonly errors: unknown[] = [];
  #wake: () => void = () => {};
  readonly handlers: UdpSocketHandlers = {
    data: (data, host, port) => {
      this.datagrams.push({ data, host, port });
      this.#wake();
    },
    error: (error) => void this.errors.push(error),
  };

  async count(n: number, timeoutMs = 3000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${this.datagrams.length} of ${n} datagrams arrived in ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      while (this.datagrams.length < n) {
        await Promise.race([new Promise<void>((resolve) => (this.#wake = resolve)), timedOut]);
      }
    } finally {
      clearTimeout(timer);
    }
  }
}

async function withSockets(
  count: number,
  body: (sockets: Array<{ socket: UdpSocket; inbox: Inbox }>) => Promise<void>,
): Promise<void> {
  const opened: Array<{ socket: UdpSocket; inbox: Inbox }> = [];
  try {
    for (let i = 0; i < count; i++) {
      const inbox = new Inbox();
      opened.push({ socket: await openUdpSocket({ hostname: LOCALHOST, port: 0 }, inbox.handlers), inbox });
    }
    await body(opened);
  } finally {
    for (const { socket } of opened) socket.close();
  }
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

async function text(stream: ReadableStream<Uint8Array> | undefined): Promise<string> {
  return await new Response(stream).text();
}

export const runtimeCases: RuntimeCase[] = [
  {
    name: "the runtime says its name and version",
    run() {
      assert.match(runtime.name, /^(bun|deno) \d+\.\d+\.\d+/);
    },
  },
  {
    name: "UDP: datagrams leave in order with their bytes copied, and arrive with the sender's address",
    run: () =>
      withSockets(2, async ([a, b]) => {
        assert.equal(a!.socket.address, LOCALHOST);
        assert.ok(a!.socket.port > 0 && a!.socket.port !== b!.socket.port);
        const first = Uint8Array.of(1, 2, 3);
        assert.equal(
          a!.socket.sendMany([first, b!.socket.port, LOCALHOST, Uint8Array.of(4, 5), b!.socket.port, LOCALHOST]),
          2,
        );
        first.fill(9); // reused at once, as the mux reuses its slab
        await b!.inbox.count(2);
        assert.deepEqual(b!.inbox.datagrams.map((d) => [hex(d.data), d.host, d.port]), [
          ["010203", LOCALHOST, a!.socket.port],
          ["0405", LOCALHOST, a!.socket.port],
        ]);
        assert.ok(Buffer.isBuffer(b!.inbox.datagrams[0]!.data));
        assert.deepEqual(b!.inbox.errors, []);
      }),
  },
  {
    name: "HTTP: serves on a free port, tells the client's address, takes an idle timeout, stops",
    async run() {
      const server = serveHttp((request, env) => {
        env.setIdleTimeout(request, 30);
        return new Response(`from ${env.remoteAddress(request)}`);
      }, { port: 0, hostname: LOCALHOST });
      try {
        const response = await fetch(`http://${LOCALHOST}:${server.port}/`);
        assert.equal(await response.text(), `from ${LOCALHOST}`);
      } finally {
        await server.stop();
      }
    },
  },
  {
    name: "HMAC-SHA1: RFC 2202 vectors (a long key too), and copy() forks the keyed state",
    run() {
      const mac = (key: Uint8Array | string, data: string) =>
        hex(createHmacSha1(key).update(Buffer.from(data)).digest());
      assert.equal(mac(new Uint8Array(20).fill(0x0b), "Hi There"), "b617318655057264e28bc0b6fb378c8ef146be00");
      assert.equal(mac("Jefe", "what do ya want for nothing?"), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
      const longKey = new Uint8Array(80).fill(0xaa);
      assert.equal(
        mac(longKey, "Test Using Larger Than Block-Size Key - Hash Key First"),
        "aa4ae5e15272d00e95705637ce8a3b55ed402112",
      );
      const keyed = createHmacSha1("Jefe");
      const started = keyed.copy().update(Buffer.from("what do ya "));
      const forked = started.copy();
      assert.equal(
        hex(started.update(Buffer.from("want for nothing?")).digest()),
        "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
      );
      assert.equal(
        hex(forked.update(Buffer.from("want for nothing?")).digest()),
        "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
      );
      assert.equal(
        hex(keyed.copy().update(Buffer.from("what do ya want for nothing?")).digest()),
        "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
      );
    },
  },
  {
    name: "libc: errno after a failed call, stable addresses of an ArrayBuffer's own array",
    run() {
      const symbols = libc();
      assert.ok(symbols, "libc.so.6 loads on Linux with glibc");
      assert.equal(symbols.getsockname(-1, new Uint8Array(16), new Uint32Array([16])), -1);
      assert.equal(symbols.errno(), EBADF);
      const bytes = new Uint8Array(new ArrayBuffer(4096));
      assert.ok(symbols.addressOf(bytes) > 0);
      assert.equal(symbols.addressOf(bytes), symbols.addressOf(bytes));
    },
  },
  {
    name: "libc: sendmmsg with UDP GSO on the descriptor behind a runtime socket",
    run: () =>
      withSockets(2, async ([sender, receiver]) => {
        const symbols = libc()!;
        const fd = findUdpSocketFd(symbols, LOCALHOST, sender!.socket.port);
        assert.notEqual(fd, undefined, "the socket's descriptor is found by its bound address");
        const batch = new DatagramBatch({ maxDatagrams: 8, slabBytes: 8 * 1200 });
        for (const tag of [1, 2, 3]) {
          batch.add(Buffer.alloc(tag === 3 ? 500 : 1200, tag), LOCALHOST, receiver!.socket.port);
        }
        const gso = new GsoBatchSender(symbols, fd!, 8, () => {});
        assert.equal(gso.send(batch, 0), 3);
        assert.equal(gso.messages, 1); // one message: the kernel cut it into the three datagrams
        await receiver!.inbox.count(3);
        assert.deepEqual(receiver!.inbox.datagrams.map((d) => [d.data.length, d.data[0], d.port]), [
          [1200, 1, sender!.socket.port],
          [1200, 2, sender!.socket.port],
          [500, 3, sender!.socket.port],
        ]);
      }),
  },
  {
    name: "libcrypto: AES-128-GCM at an offset, byte for byte node:crypto's; unusable after dispose()",
    run() {
      const native = libcrypto();
      assert.ok(native, "libcrypto.so.3 loads");
      const [key, iv, aad, plaintext] = [randomBytes(16), randomBytes(12), randomBytes(12), randomBytes(1000)];
      const sealer = native.createAesGcmSealer(key);
      const out = new Uint8Array(7 + plaintext.length + 16);
      sealer.seal(iv, aad, plaintext, out, 7);
      const cipher = createCipheriv("aes-128-gcm", key, iv).setAAD(aad);
      const expected = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
      assert.equal(hex(out.subarray(7)), hex(expected));
      assert.deepEqual([...out.subarray(0, 7)], [0, 0, 0, 0, 0, 0, 0]);
      assert.notEqual(sealer.context, null);
      sealer.dispose();
      assert.equal(sealer.context, null);
      assert.throws(() => sealer.seal(iv, aad, plaintext, out, 7), /after dispose/);
    },
  },
  {
    name: "libcrypto: the native frame sealer compiles on Bun (TinyCC) and is absent on Deno (no C compiler)",
    run() {
      const sealer = libcrypto()!.frameSealer(SRTP_FRAME_C);
      assert.equal(sealer !== undefined, runtime.name.startsWith("bun "));
    },
  },
  {
    name: "spawn: stdin to stdout through cat, then exit code 0",
    async run() {
      const child = spawn(["cat"], { stdin: "pipe" });
      const writer = child.stdin!.getWriter();
      await writer.write(new TextEncoder().encode("through the pipe"));
      await writer.close();
      assert.equal(await text(child.stdout), "through the pipe");
      assert.deepEqual(await child.exited, { code: 0, signal: null });
    },
  },
  {
    name: "spawn: an exit code, stderr, and env added to ours",
    async run() {
      const child = spawn(["sh", "-c", 'printf %s "$WISP_RUNTIME_TEST" >&2; exit 3'], {
        stdout: "ignore",
        stderr: "pipe",
        env: { WISP_RUNTIME_TEST: "x y" },
      });
      assert.equal(child.stdout, undefined);
      assert.equal(await text(child.stderr), "x y");
      assert.deepEqual(await child.exited, { code: 3, signal: null });
    },
  },
  {
    name: "spawn: kill() ends a child with SIGTERM (exit says so); a second kill() after the end does nothing",
    async run() {
      const child = spawn(["sleep", "30"], { stdout: "ignore" });
      assert.ok(child.pid > 0);
      child.kill();
      assert.deepEqual(await child.exited, { code: null, signal: "SIGTERM" });
      child.kill("SIGKILL");
    },
  },
  {
    name: "spawn: a program that does not exist throws at once",
    run() {
      assert.throws(() => spawn(["/nonexistent/wisp-no-such-program"]));
    },
  },
];

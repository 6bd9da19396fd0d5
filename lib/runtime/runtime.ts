/**
 * The runtime seam. Only lib/runtime touches Bun.*, bun:ffi or Deno.*; the rest
 * of Wisp is TypeScript on web standards plus the node: built-ins both runtimes
 * implement alike (node:fs, node:crypto, node:dns, node:zlib), which need no
 * seam: files, for one, are read with node:fs everywhere. What differs is
 * here: the HTTP server, the UDP socket, FFI (libc, libcrypto, Bun's TinyCC),
 * child processes, and HMAC-SHA1 with a reusable keyed state.
 *
 * bun/ and deno/ each implement `Runtime`; the one that runs is picked once,
 * when this module loads, by a dynamic import whose specifier is computed: a
 * static `import "bun:ffi"` anywhere in the module graph would stop Deno from
 * loading it, and a computed specifier keeps each type checker (tsc with
 * bun-types, `deno check`) out of the other runtime's files.
 *
 * bun/ and deno/ import the interface files (httpServer.ts, udpSocket.ts, ...)
 * with `import type` only, and values only from files that do not import this
 * one (gcmSizes.ts, openOnce.ts, nodeHmacSha1.ts): a module that imports this
 * one would wait on its top-level await, which waits on the implementation (a
 * deadlock).
 */
import type { ChildProcess, SpawnOptions } from "./childProcess.ts";
import type { HmacSha1 } from "./hmacSha1.ts";
import type { FetchHandler, HttpServer, HttpServerOptions } from "./httpServer.ts";
import type { Libc } from "./libc.ts";
import type { Libcrypto } from "./libcrypto.ts";
import type { UdpSocket, UdpSocketHandlers, UdpSocketOptions } from "./udpSocket.ts";

export interface Runtime {
  /** "bun 1.4.5", "deno 2.9.6": said at start-up and by GET /api/udp. */
  readonly name: string;
  serveHttp(fetch: FetchHandler, options: HttpServerOptions): HttpServer;
  openUdpSocket(options: UdpSocketOptions, handlers: UdpSocketHandlers): Promise<UdpSocket>;
  /** HMAC-SHA1 (RFC 2104) with `key` absorbed once; each message works on a copy(). */
  createHmacSha1(key: Uint8Array | string): HmacSha1;
  spawn(argv: readonly string[], options?: SpawnOptions): ChildProcess;
  /** libc's socket calls through FFI (Linux with glibc), or undefined; opened on first use, tried once. */
  libc(): Libc | undefined;
  /** The system OpenSSL's AES-GCM through FFI (libcrypto.so.3), or undefined; opened on first use, tried once. */
  libcrypto(): Libcrypto | undefined;
}

type RuntimeKind = "bun" | "deno";

function runningOn(): RuntimeKind {
  if ("Bun" in globalThis) return "bun";
  if ("Deno" in globalThis) return "deno";
  throw new Error("Wisp runs on Bun or Deno: neither a Bun nor a Deno global is defined here");
}

async function load(kind: RuntimeKind): Promise<Runtime> {
  // A variable, not a template literal in the import: Deno's module graph expands those into every match.
  const specifier = new URL(`./${kind}/${kind}Runtime.ts`, import.meta.url).href;
  const module = (await import(specifier)) as { runtime: Runtime };
  return module.runtime;
}

/** The runtime this process runs on. */
export const runtime: Runtime = await load(runningOn());

/** The runtime seam on Bun (lib/runtime/runtime.ts): loaded only by that file's dynamic import. */
import { openOnce } from "../openOnce.ts";
import type { Runtime } from "../runtime.ts";
import { serveHttp } from "./bunHttpServer.ts";
import { openLibc } from "./bunLibc.ts";
import { openLibcrypto } from "./bunLibcrypto.ts";
import { spawn } from "./bunSpawn.ts";
import { openUdpSocket } from "./bunUdpSocket.ts";

export const runtime: Runtime = {
  name: `bun ${Bun.version}`,
  serveHttp,
  openUdpSocket,
  // Bun's own hasher has the HmacSha1 shape: nothing in between, per packet.
  createHmacSha1: (key) => new Bun.CryptoHasher("sha1", key),
  spawn,
  libc: openOnce(openLibc),
  libcrypto: openOnce(openLibcrypto),
};

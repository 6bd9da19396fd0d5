/** The runtime seam on Deno (lib/runtime/runtime.ts): loaded only by that file's dynamic import. */
import { NodeHmacSha1 } from "../nodeHmacSha1.ts";
import { openOnce } from "../openOnce.ts";
import type { Runtime } from "../runtime.ts";
import { serveHttp } from "./denoHttpServer.ts";
import { openLibc } from "./denoLibc.ts";
import { openLibcrypto } from "./denoLibcrypto.ts";
import { spawn } from "./denoSpawn.ts";
import { openUdpSocket } from "./denoUdpSocket.ts";

export const runtime: Runtime = {
  name: `deno ${Deno.version.deno}`,
  serveHttp,
  openUdpSocket,
  createHmacSha1: (key) => NodeHmacSha1.keyed(key),
  spawn,
  libc: openOnce(openLibc),
  libcrypto: openOnce(openLibcrypto),
};

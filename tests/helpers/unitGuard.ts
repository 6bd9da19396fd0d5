/**
 * Preloaded by the unit layer (scripts/test.ts): unit tests start no server, socket, child
 * process or browser, so the calls that would start one throw. scripts/test.ts puts a file in the
 * loopback layer when it (or a test helper it imports) names what opens them (OPENS_SOCKETS); a
 * file that reaches them some other way fails here instead of passing as a unit test.
 */
import childProcess from "node:child_process";
import dgram from "node:dgram";
import net from "node:net";

function refuse(what: string): () => never {
  return () => {
    throw new Error(
      `${what} in a unit test: this file belongs in the loopback layer: add the line "// test layer: loopback" (see scripts/test.ts)`,
    );
  };
}

const bun = Bun as unknown as Record<string, unknown>;
for (const name of ["serve", "listen", "connect", "udpSocket", "spawn", "spawnSync"]) {
  bun[name] = refuse(`Bun.${name}()`);
}
// werift and other CommonJS code require() these module objects, so replacing their members reaches them.
Object.assign(dgram, { createSocket: refuse("dgram.createSocket()") });
Object.assign(net, {
  createServer: refuse("net.createServer()"),
  connect: refuse("net.connect()"),
  createConnection: refuse("net.createConnection()"),
});
Object.assign(childProcess, {
  spawn: refuse("child_process.spawn()"),
  spawnSync: refuse("child_process.spawnSync()"),
  exec: refuse("child_process.exec()"),
  execFile: refuse("child_process.execFile()"),
  execSync: refuse("child_process.execSync()"),
  execFileSync: refuse("child_process.execFileSync()"),
  fork: refuse("child_process.fork()"),
});

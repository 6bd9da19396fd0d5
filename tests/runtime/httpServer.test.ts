import { expect, test } from "bun:test";
import { connect } from "node:net";
import { serveHttp } from "../../lib/runtime/httpServer.ts";

// Slow loris: a client that sends its request headers a few bytes at a time holds a connection.
// Bun bounds it (its idle timeout is not fed by header bytes); this guards that bound, since the
// server lifts Bun's body limit and leans on its timers for what comes before the routes.
test("a client trickling request headers every 2 s is cut off within 15 s", async () => {
  const server = serveHttp(() => new Response("ok\n"), { port: 0, hostname: "127.0.0.1" });
  const socket = connect(server.port, "127.0.0.1");
  let header = 0;
  const trickle = setInterval(() => socket.write(`X-Slow-${header++}: a\r\n`), 2000);
  try {
    const started = performance.now();
    socket.write("GET /healthz HTTP/1.1\r\nHost: wisp.test\r\n");
    await new Promise((resolve) => socket.once("close", resolve));
    const heldMs = performance.now() - started;
    expect(heldMs).toBeLessThan(15_000);
    expect(header).toBeGreaterThanOrEqual(3); // it was trickling, not idle, when it was cut
  } finally {
    clearInterval(trickle);
    socket.destroy();
    await server.stop(true);
  }
}, 30_000);

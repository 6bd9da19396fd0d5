import { expect, test } from "bun:test";
import { UdpTransport } from "werift";
import { installUdpErrorGuard, udpErrorStats } from "../../lib/werift/udpErrorGuard.ts";
import { silentLogger } from "../../lib/logger.ts";

// Fails loudly if a werift upgrade stops creating sockets the way the guard expects.
test("every werift UDP socket gets an error listener; a socket error is counted, not thrown", async () => {
  installUdpErrorGuard(silentLogger);
  const transport = await UdpTransport.init("udp4", {});
  try {
    const socket = (transport as unknown as { socket: import("node:dgram").Socket }).socket;
    expect(socket.listenerCount("error")).toBeGreaterThanOrEqual(1);
    const before = udpErrorStats.errors;
    expect(() => socket.emit("error", new Error("recvmsg ECONNREFUSED"))).not.toThrow();
    expect(udpErrorStats.errors).toBe(before + 1);
  } finally {
    await transport.close();
  }
});

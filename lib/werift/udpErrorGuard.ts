import { UdpTransport } from "werift";
import type { Logger } from "../logger.ts";

/**
 * Gives every UDP socket werift opens an 'error' listener.
 *
 * Why: Bun enables IP_RECVERR on UDP sockets, so an ICMP port-unreachable from
 * a viewer that went away surfaces as a `recvmsg ECONNREFUSED` socket error.
 * werift attaches no 'error' listener, and an unhandled 'error' event crashed
 * the whole server (FACTS.md). The error concerns one departed peer only: we
 * count and log it, and ICE consent freshness ends that peer's session.
 *
 * werift creates its sockets in `UdpTransport`'s constructor and binds them in
 * `init()`; we wrap `init()` (called before any packet can arrive) without
 * forking werift. tests/werift/udpErrorGuard.test.ts fails if an upgrade moves this.
 */
let installed = false;
export const udpErrorStats = { errors: 0 };

export function installUdpErrorGuard(logger: Logger): void {
  if (installed) return;
  installed = true;
  const prototype = UdpTransport.prototype as unknown as {
    init(this: { socket: import("node:dgram").Socket }): Promise<void>;
  };
  const originalInit = prototype.init;
  prototype.init = function guardedInit() {
    this.socket.on("error", (error: Error) => {
      udpErrorStats.errors++;
      logger.debug("udp socket error (peer gone?)", { error: error.message });
    });
    return originalInit.call(this);
  };
}

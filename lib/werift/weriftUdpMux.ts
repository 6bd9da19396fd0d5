import { Connection, type RTCPeerConnection, StunProtocol, UdpTransport } from "werift";
import { type IceAgent, iceAgentsOf } from "./iceCredentials.ts";
import type { UdpMux } from "../udp/udpMux.ts";

/**
 * The one place Wisp reaches into werift for the UDP mux (werift has none,
 * FACTS.md). werift gathers a host candidate per address by calling, in one
 * synchronous run, `connection.ensureProtocol(stunProtocol)` and then, inside
 * `stunProtocol.connectionMade()`, `UdpTransport.init(...)`. We wrap both:
 * ensureProtocol notes which ICE connection is gathering, and init hands that
 * connection a MuxedTransport on its mux instead of a new socket. Only
 * connections given to useUdpMux() are muxed: test clients in the same
 * process, TURN sockets and werift's own STUN lookups keep their sockets.
 *
 * tests/udp/udpMux.test.ts ("one socket", "add no UDP socket") fails if a werift upgrade changes this path.
 */

const muxOf = new WeakMap<object, UdpMux>();
let gathering: { connection: IceAgent; mux: UdpMux } | undefined;
let patched = false;

function patchWerift(): void {
  if (patched) return;
  patched = true;
  const connectionProto = Connection.prototype as unknown as {
    ensureProtocol(this: IceAgent, protocol: unknown): void;
  };
  const originalEnsure = connectionProto.ensureProtocol;
  connectionProto.ensureProtocol = function (protocol: unknown) {
    const mux = muxOf.get(this);
    if (protocol instanceof StunProtocol && mux) gathering = { connection: this, mux };
    return originalEnsure.call(this, protocol);
  };
  const transportClass = UdpTransport as unknown as { init(type: string, options?: unknown): Promise<unknown> };
  const originalInit = transportClass.init.bind(UdpTransport);
  transportClass.init = async (type: string, options?: unknown) => {
    const current = gathering;
    gathering = undefined;
    if (!current || type !== "udp4") return originalInit(type, options);
    const agent = current.connection; // its credentials (setIceCredentials) are read when a first check arrives
    return current.mux.createTransport(() => agent.localUsername, () => agent.localPassword);
  };
}

/** Puts a peer connection's ICE agents on `mux`; call after setRemoteDescription, before setLocalDescription. */
export function useUdpMux(pc: RTCPeerConnection, mux: UdpMux): void {
  patchWerift();
  const agents = iceAgentsOf(pc);
  if (agents.size === 0) throw new Error("werift peer connection has no ICE connection to put on the UDP mux");
  for (const agent of agents) muxOf.set(agent, mux);
}

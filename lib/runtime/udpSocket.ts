/** One bound UDP socket as the rest of Wisp sees it (the runtime seam: Bun.udpSocket or Deno.listenDatagram behind it). */
import { runtime } from "./runtime.ts";

export interface UdpSocketOptions {
  /** An IPv4 address to bind (names are resolved by the caller). */
  hostname: string;
  /** 0: any free port. */
  port: number;
}

export interface UdpSocketHandlers {
  /** One datagram, in a Buffer of its own (werift keeps what it is given). */
  data(data: Buffer, host: string, port: number): void;
  /** A receive or send error (an ICMP error from a departed peer, say): the socket stays open. */
  error(error: unknown): void;
}

export interface UdpSocket {
  readonly address: string;
  readonly port: number;
  /**
   * Whether sendMany() is one system call for the lot (Bun's sendmmsg) or one
   * send per datagram (Deno): said as the mux's send method.
   */
  readonly batchedSendMany: boolean;
  /**
   * Sends datagrams given as flat (data, port, host) triples, Bun's own form
   * (no array per datagram), in order; the bytes are copied before it
   * returns, so the caller may reuse them. Returns how many left; throws
   * when the first one is refused (a full send buffer, a pending ICMP error).
   */
  sendMany(packets: Array<Uint8Array | number | string>): number;
  close(): void;
}

/** Binds a UDP socket; every datagram and error goes to `handlers` until close(). */
export function openUdpSocket(options: UdpSocketOptions, handlers: UdpSocketHandlers): Promise<UdpSocket> {
  return runtime.openUdpSocket(options, handlers);
}

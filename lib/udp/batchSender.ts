import type { UdpSocket } from "../runtime/udpSocket.ts";
import type { DatagramBatch } from "./datagramBatch.ts";

/** Sends the datagrams of a batch on the mux socket. */
export interface BatchSender {
  /** How: for logs and /api figures. */
  readonly kind: "sendmmsg+gso" | "sendmmsg" | "sendMany" | "send";
  /** Messages the kernel took so far: with GSO one per run of a destination's datagrams. */
  readonly messages: number;
  /**
   * Sends datagrams `from`..batch.count in order and returns how many left,
   * stopping at the first one the kernel refused (that one did not leave).
   */
  send(batch: DatagramBatch, from: number): number;
}

/**
 * The runtime socket's own sendMany, one JS array entry per datagram field:
 * "sendMany" where that is one sendmmsg inside the runtime (Bun), "send"
 * where it is one asynchronous send per datagram (Deno).
 */
export class SendManySender implements BatchSender {
  readonly kind: "sendMany" | "send";
  messages = 0;

  constructor(private readonly socket: UdpSocket) {
    this.kind = socket.batchedSendMany ? "sendMany" : "send";
  }

  send(batch: DatagramBatch, from: number): number {
    const packets: Array<Buffer | number | string> = [];
    for (let i = from; i < batch.count; i++) packets.push(batch.datagram(i), batch.ports[i]!, batch.hosts[i]!);
    try {
      const sent = this.socket.sendMany(packets);
      this.messages += sent;
      return sent;
    } catch {
      return 0; // the first datagram was refused (full buffer, or a pending ICMP error: see UdpMux.flush)
    }
  }
}

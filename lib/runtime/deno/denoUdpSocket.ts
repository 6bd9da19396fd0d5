import type { UdpSocket, UdpSocketHandlers, UdpSocketOptions } from "../udpSocket.ts";

/** Room for the largest UDP payload over IPv4 (65535 - 20 IP - 8 UDP). */
const MAX_DATAGRAM_BYTES = 65_507;

/** Datagrams waiting for their turn to be sent; past this a send is refused, as a full send buffer is. */
const MAX_QUEUED_DATAGRAMS = 4096;

/**
 * Deno.listenDatagram (needs --unstable-net; deno.json's "unstable": ["net"]).
 * Datagrams are read by an async loop, one promise per datagram. sendMany
 * queues copies of the datagrams (the caller reuses its bytes at once), which
 * leave one asynchronous send at a time: sends started together can complete
 * out of order (measured). Where libc is found the mux sends with sendmmsg on
 * this socket's descriptor instead (lib/udp/udpMux.ts).
 */
export function openUdpSocket(options: UdpSocketOptions, handlers: UdpSocketHandlers): Promise<UdpSocket> {
  return new Promise((resolve) => resolve(bind(options, handlers))); // a bind error rejects
}

function bind(options: UdpSocketOptions, handlers: UdpSocketHandlers): UdpSocket {
  const conn = Deno.listenDatagram({ transport: "udp", hostname: options.hostname, port: options.port });
  const bound = conn.addr as Deno.NetAddr;
  const state = { closed: false };
  void receiveLoop(conn, handlers, state);
  const sender = new SendQueue(conn, (error) => void (state.closed || handlers.error(error)));
  return {
    address: bound.hostname,
    port: bound.port,
    batchedSendMany: false,
    sendMany: (packets) => sender.queue(packets),
    close() {
      state.closed = true;
      conn.close();
    },
  };
}

/** Sends datagrams one at a time, in the order they were queued. */
class SendQueue {
  readonly #pending: Array<[Uint8Array, Deno.NetAddr]> = [];
  #sending = false;

  constructor(
    private readonly conn: Deno.DatagramConn,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Queues (data, port, host) triples; returns how many fit, throwing if none did. */
  queue(packets: Array<Uint8Array | number | string>): number {
    let queued = 0;
    for (let i = 0; i + 2 < packets.length && this.#pending.length < MAX_QUEUED_DATAGRAMS; i += 3, queued++) {
      const destination: Deno.NetAddr = {
        transport: "udp",
        port: packets[i + 1] as number,
        hostname: packets[i + 2] as string,
      };
      this.#pending.push([(packets[i] as Uint8Array).slice(), destination]);
    }
    if (queued === 0 && packets.length > 0) throw new Error(`UDP send queue full (${MAX_QUEUED_DATAGRAMS} datagrams)`);
    if (!this.#sending) void this.#drain();
    return queued;
  }

  async #drain(): Promise<void> {
    this.#sending = true;
    for (let next = this.#pending.shift(); next; next = this.#pending.shift()) {
      try {
        await this.conn.send(next[0], next[1]);
      } catch (error) {
        this.onError(error);
      }
    }
    this.#sending = false;
  }
}

/** Hands each datagram to `handlers.data` in a Buffer of its own, until the socket closes. */
async function receiveLoop(
  conn: Deno.DatagramConn,
  handlers: UdpSocketHandlers,
  state: { closed: boolean },
): Promise<void> {
  const buffer = new Uint8Array(MAX_DATAGRAM_BYTES);
  while (!state.closed) {
    let received: [Uint8Array, Deno.Addr];
    try {
      received = await conn.receive(buffer);
    } catch (error) {
      // Closing rejects the pending receive: no error then, and a gone socket ends the loop.
      if (state.closed || error instanceof Deno.errors.BadResource) return;
      handlers.error(error);
      continue;
    }
    const [data, from] = received;
    const { hostname, port } = from as Deno.NetAddr;
    try {
      handlers.data(Buffer.from(data), hostname, port);
    } catch (error) {
      // As a throwing callback does under Bun: an uncaught error, while this loop keeps receiving.
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}

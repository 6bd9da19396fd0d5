import { lookup } from "node:dns/promises";
import type { Logger } from "../logger.ts";
import { openUdpSocket, type UdpSocket } from "../runtime/udpSocket.ts";
import { type BatchSender, SendManySender } from "./batchSender.ts";
import { DatagramBatch, MAX_UDP_PAYLOAD } from "./datagramBatch.ts";
import { GsoBatchSender } from "./gsoBatchSender.ts";
import { findUdpSocketFd, libcUdp } from "./libcUdp.ts";
import { parseStun, STUN_BINDING_REQUEST, verifyStunIntegrity } from "../webrtc/stunMessage.ts";

/** Where a datagram came from or goes to, as werift passes it: [host, port]. */
export type Address = [string, number];

/** Writes one datagram's bytes at `into[at]` (exactly as many as were asked for). */
export type DatagramWriter = (into: Uint8Array, at: number) => void;

/**
 * One peer connection's view of the shared socket. It stands in for werift's
 * UdpTransport (same members werift's StunProtocol uses: onData, send, close,
 * closed, address, addressFamily), so werift's ICE, DTLS and SRTP run over it.
 */
export class MuxedTransport {
  readonly type = "udp";
  readonly addressFamily = 4;
  closed = false;
  onData: (data: Buffer, addr: Address) => void = () => {};
  /**
   * The DTLS datagrams of the last flight sent (RFC 6347 4.2.4): the
   * side that sends the handshake's last flight must repeat it when the peer
   * repeats its own, which a ViewerLink does after werift has gone.
   */
  lastDtlsFlight: Uint8Array[] = [];
  /** A DTLS datagram came in since we last sent one: the next one we send starts a new flight. */
  #peerSentDtls = true;

  constructor(
    private readonly mux: UdpMux,
    /** The local ICE ufrag of the connection this transport belongs to (read when routing). */
    readonly localUfrag: () => string,
    /** Its local ICE password, which keys the first check's MESSAGE-INTEGRITY (read when routing). */
    readonly localPassword: () => string,
  ) {}

  /** One datagram from the socket for this transport's connection. */
  receive(data: Buffer, from: Address): void {
    if (isDtls(data)) this.#peerSentDtls = true;
    this.onData(data, from);
  }

  get address(): { address: string; port: number } {
    return { address: this.mux.address, port: this.mux.port };
  }

  async send(data: Buffer, addr?: Address): Promise<void> {
    if (this.closed || !addr) return;
    if (isDtls(data)) this.#keepDtlsFlight(data);
    this.mux.send(data, addr);
  }

  #keepDtlsFlight(data: Buffer): void {
    if (this.#peerSentDtls) this.lastDtlsFlight = [];
    this.#peerSentDtls = false;
    this.lastDtlsFlight.push(Uint8Array.from(data));
  }

  /** Media: `length` bytes written by `write` straight into the mux's next batch (see UdpMux.queueWith). */
  queueWith(length: number, addr: Address, write: DatagramWriter): void {
    if (!this.closed) this.mux.queueWith(length, addr, write);
  }

  /** Media: a run of datagrams written by one `write` (see UdpMux.queueRun); false: queue them one by one. */
  queueRun(lengths: Int32Array, bytes: number, addr: Address, write: DatagramWriter): boolean {
    return this.closed || this.mux.queueRun(lengths, bytes, addr, write);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.mux.remove(this);
  }

  /**
   * Gives this transport's routes to a new owner (ViewerLink, once werift is
   * done with the connection): a new transport receives from now on, and this
   * one is closed without removing the routes, so whatever werift still
   * sends or closes through it goes nowhere.
   */
  handOver(): MuxedTransport {
    // Strings, not the closures over werift's connection.
    const ufrag = this.localUfrag();
    const password = this.localPassword();
    const successor = this.mux.createTransport(() => ufrag, () => password);
    successor.lastDtlsFlight = this.lastDtlsFlight;
    this.mux.reroute(this, successor);
    this.closed = true;
    return successor;
  }
}

export interface UdpMuxOptions {
  port: number;
  /** Bind address; on fly.io `fly-global-services` (FACTS.md), else 0.0.0.0. */
  address: string;
  logger: Logger;
  /** Send batches with libc's sendmmsg and UDP GSO where available (Linux); default true. */
  gso?: boolean;
}

/** Retries in a row that send nothing before the rest of a batch is dropped (a full send buffer). */
const MAX_SEND_RETRIES = 8;
/** Datagrams per batch: a frame for ~10 viewers; bounds how long the first one waits for the batch. */
const MAX_BATCH_DATAGRAMS = 128;
/** Room for a full batch of the largest media datagrams (128 * 1216 bytes) and then some. */
const SLAB_BYTES = 256 * 1024;

/**
 * ICE UDP mux: every WebRTC peer connection's media on one UDP socket, as
 * fly.io and firewalls need (one known port). First contact is routed by the
 * STUN USERNAME of a Binding request (RFC 8445 7.2.2: "local ufrag:remote ufrag"
 * from our side's view) whose MESSAGE-INTEGRITY that connection's local
 * password verifies (RFC 8445 7.3), later datagrams (STUN, DTLS, SRTP, SRTCP,
 * RFC 7983 demultiplexing happens in werift) by the remote address that first
 * contact bound. Routes go away with their transport.
 */
export class UdpMux {
  readonly stats = {
    routed: 0,
    /** First contact that is no Binding request, or names no live connection's ufrag: dropped. */
    unroutable: 0,
    /** First-contact Binding requests for a live ufrag without MESSAGE-INTEGRITY, or with a wrong one: dropped. */
    integrityRefused: 0,
    socketErrors: 0,
    sendRetries: 0,
    sendFailures: 0,
    batches: 0,
    datagramsSent: 0,
  };
  readonly #socket: UdpSocket;
  readonly #logger: Logger;
  readonly #transports = new Set<MuxedTransport>();
  readonly #routes = new Map<string, MuxedTransport>();
  /** Outgoing datagrams until the next flush: written once into its slab, no garbage per packet. */
  readonly #batch = new DatagramBatch({ maxDatagrams: MAX_BATCH_DATAGRAMS, slabBytes: SLAB_BYTES });
  readonly #sender: BatchSender;
  #flushQueued = false;
  #closed = false;
  #address = "0.0.0.0";
  #port = 0;

  static async open(options: UdpMuxOptions): Promise<UdpMux> {
    // A name such as fly.io's fly-global-services is resolved first: the socket binds an address.
    const { address } = await lookup(options.address, { family: 4 });
    // deno-lint-ignore prefer-const -- the socket's callbacks close over it before it is set
    let mux: UdpMux | undefined;
    const socket = await openUdpSocket(
      { hostname: address, port: options.port },
      {
        data: (data, from, port) => mux?.receive(data, [from, port]),
        // ICMP errors of departed peers (Bun's IP_RECVERR): count, never crash (FACTS.md).
        error: () => void (mux && mux.stats.socketErrors++),
      },
    );
    mux = new UdpMux(socket, options.logger, options.gso ?? true);
    return mux;
  }

  private constructor(socket: UdpSocket, logger: Logger, gso: boolean) {
    this.#socket = socket;
    this.#logger = logger;
    this.#address = socket.address;
    this.#port = socket.port;
    this.#sender = (gso && this.#gsoSender()) || new SendManySender(socket);
  }

  /** The sendmmsg + GSO sender on this socket's file descriptor, if libc and the descriptor are found. */
  #gsoSender(): GsoBatchSender | undefined {
    const libc = libcUdp();
    const fd = libc && findUdpSocketFd(libc, this.#address, this.#port);
    if (!libc || fd === undefined) {
      this.#logger.info("udp mux: sendmmsg/GSO unavailable here, sending with the runtime socket's own sends");
      return undefined;
    }
    return new GsoBatchSender(
      libc,
      fd,
      MAX_BATCH_DATAGRAMS,
      (errno) => this.#logger.warn("udp mux: the kernel refused UDP GSO, sending datagrams one by one", { errno }),
    );
  }

  get port(): number {
    return this.#port;
  }

  get address(): string {
    return this.#address;
  }

  /** How batches leave: "sendmmsg+gso", "sendmmsg" (GSO refused), else the socket's "sendMany" (Bun) or "send" (Deno). */
  get sendMethod(): BatchSender["kind"] {
    return this.#sender.kind;
  }

  /** Messages handed to the kernel: fewer than datagramsSent by the runs GSO sent as one. */
  get messagesSent(): number {
    return this.#sender.messages;
  }

  get transportCount(): number {
    return this.#transports.size;
  }

  get routeCount(): number {
    return this.#routes.size;
  }

  createTransport(localUfrag: () => string, localPassword: () => string): MuxedTransport {
    const transport = new MuxedTransport(this, localUfrag, localPassword);
    this.#transports.add(transport);
    return transport;
  }

  /**
   * Sends one datagram now (ICE, DTLS, RTCP), after any media queued before
   * it, through the same batch and retries as media (see flush()).
   */
  send(data: Buffer, addr: Address): void {
    if (!this.#canSend(data.length)) return;
    if (!this.#batch.hasRoom(data.length)) this.flush();
    this.#batch.add(data, addr[0], addr[1]);
    this.flush();
  }

  /**
   * Queues one media datagram of `length` bytes, which `write` puts straight
   * into the batch's slab (no buffer per packet). Queued datagrams leave
   * together, in one sendmmsg call, when the batch is full or at the end of
   * the current JS turn: one system call per batch instead of one per packet
   * per viewer.
   */
  queueWith(length: number, [host, port]: Address, write: DatagramWriter): void {
    if (!this.#canSend(length)) return;
    if (!this.#batch.hasRoom(length)) this.flush();
    const at = this.#batch.reserve(length);
    write(this.#batch.slab, at);
    this.#batch.addReserved(at, length, host, port);
    this.#sendSoon();
  }

  /**
   * Queues a run of datagrams to one address (a frame for one viewer), `lengths`
   * long, `bytes` in all, which one `write` call puts back to back into the
   * batch's slab. False, queueing nothing, when the run is longer than a whole
   * batch: the caller then queues its datagrams one by one.
   */
  queueRun(lengths: Int32Array, bytes: number, [host, port]: Address, write: DatagramWriter): boolean {
    if (lengths.length > MAX_BATCH_DATAGRAMS || bytes > SLAB_BYTES) return false;
    if (this.#closed) return true; // dropped, as queueWith does
    if (!this.#batch.hasRoom(bytes, lengths.length)) this.flush();
    const at = this.#batch.reserve(bytes);
    write(this.#batch.slab, at);
    this.#batch.addRun(at, lengths, host, port);
    this.#sendSoon();
    return true;
  }

  /** Queued datagrams leave when the batch is full, else at the end of the current JS turn. */
  #sendSoon(): void {
    if (this.#batch.count >= MAX_BATCH_DATAGRAMS) this.flush();
    else if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(() => {
        this.#flushQueued = false;
        this.flush();
      });
    }
  }

  /** Open, and the datagram fits UDP (a longer one is counted as a failure). */
  #canSend(length: number): boolean {
    if (this.#closed) return false;
    if (length <= MAX_UDP_PAYLOAD) return true;
    this.stats.sendFailures++;
    return false;
  }

  /**
   * Sends what is queued. A send stops at the first datagram the kernel
   * refuses: a full send buffer (a retry makes no progress) or, under Bun, an
   * ICMP port-unreachable from a departed peer, which surfaces as ECONNREFUSED
   * on the NEXT send on the socket, whoever it is for (measured: each live
   * packet after a dead one was lost, with no 'error' event). That datagram
   * did not leave, so the rest is retried while retries make progress: a
   * vanished viewer never costs the others packets. What still fails is
   * counted and dropped, as a network would.
   */
  flush(): void {
    const batch = this.#batch;
    if (batch.count === 0 || this.#closed) return batch.clear();
    this.stats.batches++;
    try {
      this.#sendBatch(batch);
    } finally {
      batch.clear(); // the kernel copied (or we dropped) every queued datagram: the slab is free again
    }
  }

  #sendBatch(batch: DatagramBatch): void {
    let from = 0;
    for (let stalled = 0; stalled <= MAX_SEND_RETRIES;) {
      const sent = this.#sender.send(batch, from);
      from += sent;
      this.stats.datagramsSent += sent;
      if (from >= batch.count) return;
      stalled = sent > 0 ? 0 : stalled + 1;
      this.stats.sendRetries++;
    }
    this.stats.sendFailures += batch.count - from;
  }

  /** Every route (and the ufrag lookup) of `from` now leads to `to`. */
  reroute(from: MuxedTransport, to: MuxedTransport): void {
    this.#transports.delete(from);
    for (const [key, routed] of this.#routes) if (routed === from) this.#routes.set(key, to);
  }

  remove(transport: MuxedTransport): void {
    this.#transports.delete(transport);
    for (const [key, routed] of this.#routes) if (routed === transport) this.#routes.delete(key);
  }

  /** Sends what is queued and closes the socket; later sends are dropped (the GSO sender's fd could be reused). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    this.#socket.close();
  }

  /** Routes one datagram from the socket to its peer connection's transport. */
  receive(data: Buffer, from: Address): void {
    const key = `${from[0]}:${from[1]}`;
    const transport = this.#routes.get(key) ?? this.#firstContact(data, key);
    if (!transport) return;
    this.stats.routed++;
    transport.receive(data, from);
  }

  /**
   * A datagram from an address with no route yet (the only ones parsed here:
   * routed datagrams never are). It binds `key` to a transport only when it is
   * a Binding request naming that transport's local ufrag whose
   * MESSAGE-INTEGRITY verifies with that transport's local password (RFC 8445
   * 7.3: short-term credentials, keyed with our password): knowing or guessing
   * a ufrag binds nothing.
   *
   * RFC 5389 10.1.2 says to answer a request without MESSAGE-INTEGRITY or
   * USERNAME with 400, and one whose integrity fails with 401. We drop it
   * instead, as pion does: the source address is unverified, so an answer
   * could be reflected at a spoofed victim and would tell a guesser that the
   * ufrag is live, while a real peer retransmits its checks (RFC 5389 7.2.1,
   * RFC 8445 14.3) and loses nothing. (werift 0.25.2 does not verify requests at all: this is
   * the only check before the hand-over.)
   */
  #firstContact(data: Buffer, key: string): MuxedTransport | undefined {
    const ufrag = bindingRequestLocalUfrag(data);
    const transport = ufrag === undefined ? undefined : this.#byUfrag(ufrag);
    if (!transport) {
      this.stats.unroutable++;
      return undefined;
    }
    // verifyStunIntegrity is false for a request without MESSAGE-INTEGRITY too.
    if (!verifyStunIntegrity(data, transport.localPassword())) {
      this.stats.integrityRefused++;
      return undefined;
    }
    this.#routes.set(key, transport);
    return transport;
  }

  /** Whether a live connection on the mux has this local ufrag (they must be unique: they route first checks). */
  hasUfrag(ufrag: string): boolean {
    return this.#byUfrag(ufrag) !== undefined;
  }

  #byUfrag(ufrag: string): MuxedTransport | undefined {
    for (const transport of this.#transports) if (transport.localUfrag() === ufrag) return transport;
    return undefined;
  }
}

/** RFC 7983 7: DTLS records start with a content type of 20-63. */
export function isDtls(data: Uint8Array): boolean {
  return data.length > 0 && data[0]! >= 20 && data[0]! <= 63;
}

/** The local ufrag in a STUN Binding request's USERNAME ("ours:theirs", RFC 8445 7.2.2), or undefined for anything else. */
export function bindingRequestLocalUfrag(data: Uint8Array): string | undefined {
  const message = parseStun(data);
  return message?.type === STUN_BINDING_REQUEST ? message.username?.split(":")[0] : undefined;
}

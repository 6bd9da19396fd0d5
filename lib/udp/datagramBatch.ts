/** Largest UDP payload over IPv4: 65535 - 20 IP header - 8 UDP header. */
export const MAX_UDP_PAYLOAD = 65_507;

export interface DatagramBatchOptions {
  /** Most datagrams in one batch. */
  maxDatagrams: number;
  /** Bytes of the slab every datagram of the batch is written into. */
  slabBytes: number;
}

/**
 * Outgoing datagrams waiting for one batched send: their bytes in one slab
 * (reused after every send, so no garbage per packet, and one base address
 * for the system call's iovecs), their destinations in parallel arrays.
 */
export class DatagramBatch {
  /** Backed by an ArrayBuffer of its own, so its address never moves (FFI: lib/runtime/libc.ts). */
  readonly slab: Buffer;
  readonly offsets: Int32Array;
  readonly lengths: Int32Array;
  readonly ports: Int32Array;
  readonly hosts: string[];
  readonly maxDatagrams: number;
  #count = 0;
  #used = 0;

  constructor(options: DatagramBatchOptions) {
    this.maxDatagrams = options.maxDatagrams;
    this.slab = Buffer.from(new ArrayBuffer(options.slabBytes));
    this.offsets = new Int32Array(options.maxDatagrams);
    this.lengths = new Int32Array(options.maxDatagrams);
    this.ports = new Int32Array(options.maxDatagrams);
    this.hosts = new Array<string>(options.maxDatagrams).fill("");
  }

  get count(): number {
    return this.#count;
  }

  /** Whether `count` more datagrams of `length` bytes in all fit (slab space and slots). */
  hasRoom(length: number, count = 1): boolean {
    return this.#count + count <= this.maxDatagrams && this.#used + length <= this.slab.length;
  }

  /**
   * Space for the next datagram: its offset in the slab, to write and then
   * addReserved(). Only call when hasRoom(length), and add it before the next reserve.
   */
  reserve(length: number): number {
    if (!this.hasRoom(length)) throw new RangeError(`no room for a ${length}-byte datagram in the batch`);
    const offset = this.#used;
    this.#used += length;
    return offset;
  }

  /** Adds the datagram written at a reserved offset. */
  addReserved(offset: number, length: number, host: string, port: number): void {
    const i = this.#count++;
    this.offsets[i] = offset;
    this.lengths[i] = length;
    this.ports[i] = port;
    this.hosts[i] = host;
  }

  /** Adds datagrams written back to back from a reserved offset, `lengths` long, all to one destination. */
  addRun(offset: number, lengths: Int32Array, host: string, port: number): void {
    let at = offset;
    for (let i = 0; i < lengths.length; i++) {
      this.addReserved(at, lengths[i]!, host, port);
      at += lengths[i]!;
    }
  }

  /** Adds a copy of `data` (callers check hasRoom() first). */
  add(data: Uint8Array, host: string, port: number): void {
    const offset = this.reserve(data.length);
    this.slab.set(data, offset);
    this.addReserved(offset, data.length, host, port);
  }

  /** Datagram i's bytes (a view into the slab). */
  datagram(i: number): Buffer {
    return this.slab.subarray(this.offsets[i]!, this.offsets[i]! + this.lengths[i]!);
  }

  /** Empties the batch: the slab is free to be written again. */
  clear(): void {
    this.#count = 0;
    this.#used = 0;
  }
}

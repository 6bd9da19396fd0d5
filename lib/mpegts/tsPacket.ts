/** MPEG-TS transport packets (ISO/IEC 13818-1 2.4.3.2 / 2.4.3.4 adaptation field). */

export const TS_PACKET_SIZE = 188;
export const SYNC_BYTE = 0x47;
/** PID 0x1FFF carries null packets (Table 2-3): padding, never parsed. */
export const NULL_PID = 0x1fff;
/** Adaptation field longest possible: 188 - 4 header bytes - 1 length byte (2.4.3.5). */
const MAX_ADAPTATION_FIELD_LENGTH = TS_PACKET_SIZE - 5;

export interface TsPacket {
  pid: number;
  payloadUnitStart: boolean;
  /** transport_error_indicator: a lower layer saw an uncorrectable error in this packet. */
  transportError: boolean;
  continuityCounter: number;
  /** adaptation_field_control says a payload follows (the counter advances only then, 2.4.3.3). */
  hasPayload: boolean;
  /** discontinuity_indicator (2.4.3.5): the continuity counter may jump here. */
  discontinuity: boolean;
  randomAccess: boolean;
  /** program_clock_reference_base (90 kHz, 33 bits), if present. */
  pcr: number | undefined;
  /**
   * The adaptation field holds stuffing bytes (2.4.3.5), i.e. the payload is
   * shorter than the packet allows: muxers do that in the last packet of a PES.
   */
  stuffed: boolean;
  /** Payload bytes (a view into the packet); empty without payload. */
  payload: Uint8Array;
}

/** Parses one 188-byte packet that starts with the sync byte; a string says what is malformed. */
export function parseTsPacket(bytes: Uint8Array): TsPacket | string {
  if (bytes.length !== TS_PACKET_SIZE || bytes[0] !== SYNC_BYTE) {
    return `not a ${TS_PACKET_SIZE}-byte packet starting with 0x47`;
  }
  const pid = ((bytes[1]! & 0x1f) << 8) | bytes[2]!;
  const control = (bytes[3]! >> 4) & 0x03; // adaptation_field_control, Table 2-5
  if (control === 0) return `PID ${pid}: adaptation_field_control '00' is reserved`;
  const packet: TsPacket = {
    pid,
    payloadUnitStart: (bytes[1]! & 0x40) !== 0,
    transportError: (bytes[1]! & 0x80) !== 0,
    continuityCounter: bytes[3]! & 0x0f,
    hasPayload: (control & 0x01) !== 0,
    discontinuity: false,
    randomAccess: false,
    pcr: undefined,
    stuffed: false,
    payload: bytes.subarray(TS_PACKET_SIZE),
  };
  let payloadStart = 4;
  if (control & 0x02) {
    const length = bytes[4]!;
    // 2.4.3.5: 183 with no payload, 0..182 when a payload follows.
    const limit = packet.hasPayload ? MAX_ADAPTATION_FIELD_LENGTH - 1 : MAX_ADAPTATION_FIELD_LENGTH;
    if (length > limit) return `PID ${pid}: adaptation_field_length ${length} exceeds ${limit}`;
    if (length > 0) readAdaptationFlags(bytes, length, packet);
    else packet.stuffed = true; // a zero-length adaptation field is one stuffing byte (2.4.3.5)
    payloadStart = 5 + length;
  }
  if (packet.hasPayload) packet.payload = bytes.subarray(payloadStart, TS_PACKET_SIZE);
  return packet;
}

/** 2.4.3.4: the flags byte and the PCR that follows it when PCR_flag is set. */
function readAdaptationFlags(bytes: Uint8Array, length: number, packet: TsPacket): void {
  const flags = bytes[5]!;
  packet.discontinuity = (flags & 0x80) !== 0;
  packet.randomAccess = (flags & 0x40) !== 0;
  const PCR_FIELD_LENGTH = 1 + 6; // flags byte + 33-bit base, 6 reserved bits, 9-bit extension
  if (flags & 0x10 && length >= PCR_FIELD_LENGTH) {
    packet.pcr = bytes[6]! * 2 ** 25 + ((bytes[7]! << 17) | (bytes[8]! << 9) | (bytes[9]! << 1) | (bytes[10]! >> 7));
  }
  packet.stuffed = length > adaptationFieldsSize(bytes, length);
}

/**
 * Bytes of the adaptation field taken by its flags byte and the optional
 * fields the flags announce (2.4.3.4): PCR 6, OPCR 6, splice_countdown 1,
 * transport_private_data 1 + length, adaptation_field_extension 1 + length.
 * The rest up to adaptation_field_length is stuffing.
 */
function adaptationFieldsSize(bytes: Uint8Array, length: number): number {
  const flags = bytes[5]!;
  let size = 1 + (flags & 0x10 ? 6 : 0) + (flags & 0x08 ? 6 : 0) + (flags & 0x04 ? 1 : 0);
  if (flags & 0x02 && size < length) size += 1 + bytes[5 + size]!;
  if (flags & 0x01 && size < length) size += 1 + bytes[5 + size]!;
  return size;
}

/** Sync bytes that must line up at packet spacing before a position is trusted (3 random bytes: 1 in 16.7 M). */
const SYNC_CONFIRMATIONS = 3;

/** Room for the bytes a resync looks at (SYNC_CONFIRMATIONS packets) plus one packet. */
const INITIAL_BUFFER_SIZE = TS_PACKET_SIZE * (SYNC_CONFIRMATIONS + 1);
/** A buffer grown past 1 MiB (by a huge chunk) is not kept once empty. */
const MAX_IDLE_BUFFER_SIZE = 1024 * 1024;

export interface TsPacketSplitterOptions {
  /** Called when sync is found again after `skippedBytes` bytes that were not packets. */
  onResync?: (skippedBytes: number) => void;
}

/**
 * Cuts arbitrary chunks into whole 188-byte packets (copies, safe to keep).
 * In sync, a packet starting with 0x47 is let go at once; when the next
 * packet's first byte is already at hand it must be 0x47 too, so a packet cut
 * short (bytes lost) is dropped rather than passed on mixed with the next
 * one's bytes (with 1-byte chunks that check never has the byte at hand).
 * The start of the stream is trusted like that. After losing sync (garbage,
 * a stream joined mid-packet) a position is trusted again only when
 * SYNC_CONFIRMATIONS sync bytes line up at packet spacing; at the end of the
 * stream (flush) fewer will do: as many as the data holds. Each time sync is
 * regained after skipping bytes counts as one resync.
 */
export class TsPacketSplitter {
  resyncs = 0;
  skippedBytes = 0;
  readonly #onResync: (skippedBytes: number) => void;
  #buffer = new Uint8Array(INITIAL_BUFFER_SIZE);
  #start = 0;
  #end = 0;
  /** Whether the position at #start is trusted: at the start of the stream, and after a resync. */
  #locked = true;
  /** Bytes skipped since sync was lost, reported when it is found again. */
  #skippedInLoss = 0;

  constructor(options: TsPacketSplitterOptions = {}) {
    this.#onResync = options.onResync ?? (() => {});
  }

  push(chunk: Uint8Array): Uint8Array[] {
    this.#append(chunk);
    const packets = this.#drain(false);
    if (this.#start === this.#end) this.#empty();
    return packets;
  }

  /**
   * End of the stream: confirms sync on what data there is and returns the
   * last packets, and how many bytes were left that are no whole packet
   * (dropped). The splitter is then ready for a new stream.
   */
  flush(): { packets: Uint8Array[]; leftoverBytes: number } {
    const packets = this.#drain(true);
    const leftoverBytes = this.#end - this.#start;
    this.#empty();
    this.#skippedInLoss = 0;
    this.#locked = true;
    return { packets, leftoverBytes };
  }

  /** Bytes held that do not (yet) form a whole packet. */
  get pendingBytes(): number {
    return this.#end - this.#start;
  }

  #drain(final: boolean): Uint8Array[] {
    const packets: Uint8Array[] = [];
    const b = this.#buffer;
    while (this.#end - this.#start >= TS_PACKET_SIZE) {
      if (this.#locked) {
        const next = this.#start + TS_PACKET_SIZE;
        if (b[this.#start] === SYNC_BYTE && (next >= this.#end || b[next] === SYNC_BYTE)) {
          packets.push(b.slice(this.#start, next));
          this.#start = next;
        } else this.#locked = false; // lost sync (this packet is cut short or overlong): search from here
        continue;
      }
      const found = this.#findSync(final);
      // Undecided positions stay held: those whose confirmations (or, at the end, whole packet) lie beyond the data.
      const undecided = final ? this.#end - TS_PACKET_SIZE + 1 : this.#end - TS_PACKET_SIZE * (SYNC_CONFIRMATIONS - 1);
      const skipTo = found ?? Math.max(this.#start, undecided);
      this.#skip(skipTo - this.#start);
      if (found === undefined) break; // the rest may be confirmed by the next chunk
      this.#locked = true;
      if (this.#skippedInLoss > 0) {
        this.resyncs++;
        this.#onResync(this.#skippedInLoss);
        this.#skippedInLoss = 0;
      }
    }
    return packets;
  }

  /**
   * First position with a sync byte repeated at packet spacing. Positions whose
   * confirmations lie beyond the data held are undecided, unless `final`: then
   * the sync bytes that are there must line up (and one whole packet must be held).
   */
  #findSync(final: boolean): number | undefined {
    const b = this.#buffer.subarray(0, this.#end);
    const span = TS_PACKET_SIZE * (SYNC_CONFIRMATIONS - 1);
    const last = final ? this.#end - TS_PACKET_SIZE : this.#end - span - 1;
    for (let i = b.indexOf(SYNC_BYTE, this.#start); i !== -1 && i <= last; i = b.indexOf(SYNC_BYTE, i + 1)) {
      let confirmed = true;
      for (let at = i + TS_PACKET_SIZE; at <= i + span && at < b.length && confirmed; at += TS_PACKET_SIZE) {
        confirmed = b[at] === SYNC_BYTE;
      }
      if (confirmed) return i;
    }
    return undefined;
  }

  #skip(count: number): void {
    this.#start += count;
    this.skippedBytes += count;
    this.#skippedInLoss += count;
  }

  /** Nothing held: start over at the front; let go of a buffer grown by a huge chunk. */
  #empty(): void {
    this.#start = this.#end = 0;
    if (this.#buffer.length > MAX_IDLE_BUFFER_SIZE) this.#buffer = new Uint8Array(INITIAL_BUFFER_SIZE);
  }

  /** Appends to the held bytes, compacting or growing the buffer as needed. */
  #append(chunk: Uint8Array): void {
    const held = this.#end - this.#start;
    if (this.#end + chunk.length > this.#buffer.length) {
      const target = this.#buffer.length >= held + chunk.length
        ? this.#buffer
        : new Uint8Array(2 * (held + chunk.length));
      target.set(this.#buffer.subarray(this.#start, this.#end), 0); // set() copes with an overlapping source
      this.#buffer = target;
      this.#start = 0;
      this.#end = held;
    }
    this.#buffer.set(chunk, this.#end);
    this.#end += chunk.length;
  }
}

import { createCipheriv, createDecipheriv, timingSafeEqual } from "node:crypto";
import { createHmacSha1, type HmacSha1 } from "../runtime/hmacSha1.ts";
import { AES_GCM_TAG_SIZE, type AesGcmSealer, createAesGcmSealer } from "./aesGcm.ts";
import type { SessionKeys, SrtpProfile } from "./sessionKeys.ts";

/**
 * SRTCP (RFC 3711 3.4) for the two DTLS-SRTP profiles WebRTC uses:
 *
 *   AES_CM_128_HMAC_SHA1_80 (RFC 3711 3.4, 4.1.1, 4.2):
 *     header(8) | AES-CM(rest of the compound packet) | E+index(4) | HMAC-SHA1-80 tag(10)
 *     the tag covers everything before it.
 *   AEAD_AES_128_GCM (RFC 7714 9.1, 9.2, 17):
 *     E=1: header(8) | AES-GCM(rest of the compound packet) | tag(16) | E+index(4)
 *          AAD = header(8) | E+index(4)
 *     E=0: whole RTCP packet | tag(16) | E+index(4)
 *          AAD = whole RTCP packet | E+index(4), nothing encrypted
 *
 * "header(8)" is the first RTCP header and its sender SSRC, left in the
 * clear; E is the top bit of the index word, the index its 31 low bits. No MKI
 * (DTLS-SRTP does not use one, RFC 5764 4.1.2).
 *
 * The session keys (RFC 3711 4.3, labels 0x03-0x05) come already derived,
 * e.g. werift's SrtcpContext `srtcpSessionKey`, `srtcpSessionSalt`,
 * `srtcpSessionAuthTag`.
 */

/** What SrtcpUnprotector turned away, by reason (a periodic counter, nothing per packet). */
export interface SrtcpRejections {
  /** Too short for header + tag + index, or not RTCP version 2. */
  malformed: number;
  /** Tag did not verify: wrong key, or altered in transit. */
  unauthenticated: number;
  /** Index already received or older than the replay window (RFC 3711 3.3.2). */
  replayed: number;
}

const RTCP_CLEAR_HEADER_SIZE = 8; // RFC 3711 3.4: the first header and SSRC are not encrypted
const SRTCP_INDEX_SIZE = 4; // RFC 3711 3.4: E flag (1 bit) + SRTCP index (31 bits)
const SRTCP_E_FLAG = 0x80000000; // RFC 3711 3.4: set when the packet is encrypted
const MAX_SRTCP_INDEX = 0x7fffffff; // RFC 3711 3.3.1: 2^31 packets per key, then re-key
const HMAC_SHA1_80_TAG_SIZE = 10; // RFC 3711 5.2: 80-bit authentication tag
const REPLAY_WINDOW_SIZE = 64; // RFC 3711 3.3.2: SRTP-WINDOW-SIZE MUST be at least 64
const MAX_REPLAY_WINDOWS = 32; // a peer sends RTCP from a handful of SSRCs; more only when misbehaving
const RTP_VERSION = 2; // RFC 3550 6.4.1: V in the top two bits of the first octet

export interface SrtcpProtectorOptions {
  /**
   * Index of each SSRC's first packet; default 1, as libsrtp, pion and werift
   * send. A link taking over from another sender on the same keys starts past
   * that sender's last index, or the receiver drops ours as replays (RFC 3711 3.3.2).
   */
  firstIndex?: number;
}

/**
 * Protects our outgoing RTCP. Keeps the SRTCP index per sender SSRC (the
 * crypto context is per SSRC, RFC 3711 3.2.3, and werift counts the same way)
 * and always sets E (encrypted).
 */
export class SrtcpProtector {
  readonly profile: SrtpProfile;
  readonly #cipher: SrtcpCipher;
  readonly #firstIndex: number;
  /** Next index to send, per SSRC: our own SSRCs only, so a few entries. */
  readonly #nextIndex = new Map<number, number>();

  constructor(keys: SessionKeys, options: SrtcpProtectorOptions = {}) {
    const firstIndex = options.firstIndex ?? 1;
    if (!Number.isInteger(firstIndex) || firstIndex < 0 || firstIndex > MAX_SRTCP_INDEX) {
      throw new RangeError(`SRTCP firstIndex must be an integer from 0 to 2^31-1, got ${firstIndex}`);
    }
    this.profile = keys.profile;
    this.#cipher = createSrtcpCipher(keys);
    this.#firstIndex = firstIndex;
  }

  /** One SRTCP datagram from an RTCP (compound) packet. Throws only on our own mistakes: a packet under 8 bytes, or an exhausted index. */
  protect(rtcp: Uint8Array): Uint8Array {
    if (rtcp.length < RTCP_CLEAR_HEADER_SIZE) {
      throw new RangeError(`RTCP packet of ${rtcp.length} bytes is shorter than its 8-byte header`);
    }
    const ssrc = readUint32(rtcp, 4);
    const index = this.#nextIndex.get(ssrc) ?? this.#firstIndex;
    // RFC 3711 3.3.1: never wrap (that would reuse key stream); libsrtp reports key_expired here too.
    if (index > MAX_SRTCP_INDEX) {
      throw new Error(`SRTCP index of SSRC ${ssrc} exhausted at 2^31-1: re-key (RFC 3711 3.3.1)`);
    }
    this.#nextIndex.set(ssrc, index + 1);
    return this.#cipher.seal(rtcp, ssrc, index);
  }
}

/**
 * Opens the peer's SRTCP: checks the tag, decrypts when E=1, passes the
 * packet through when E=0 (still authenticated). Returns undefined, counted
 * in `rejected`, for packets that are malformed, fail authentication or
 * replay an index (RFC 3711 3.3.2, per SSRC); never throws.
 */
export class SrtcpUnprotector {
  readonly profile: SrtpProfile;
  readonly rejected: SrtcpRejections = { malformed: 0, unauthenticated: 0, replayed: 0 };
  readonly #cipher: SrtcpCipher;
  readonly #replay = new Map<number, ReplayWindow>();

  constructor(keys: SessionKeys) {
    this.profile = keys.profile;
    this.#cipher = createSrtcpCipher(keys);
  }

  unprotect(packet: Uint8Array): Uint8Array | undefined {
    const trailer = this.#cipher.readTrailer(packet);
    if (!trailer || packet[0]! >> 6 !== RTP_VERSION) return this.#reject("malformed");
    const ssrc = readUint32(packet, 4);
    const window = this.#replay.get(ssrc);
    if (window && !window.fresh(trailer.index)) return this.#reject("replayed");
    const clear = this.#cipher.open(packet, ssrc, trailer);
    if (!clear) return this.#reject("unauthenticated");
    // RFC 3711 3.3: the replay list is updated only once the packet is authenticated.
    this.#windowFor(ssrc).accept(trailer.index);
    return clear;
  }

  #reject(reason: keyof SrtcpRejections): undefined {
    this.rejected[reason]++;
    return undefined;
  }

  #windowFor(ssrc: number): ReplayWindow {
    let window = this.#replay.get(ssrc);
    if (window) return window;
    if (this.#replay.size >= MAX_REPLAY_WINDOWS) this.#replay.delete(this.#replay.keys().next().value!);
    window = new ReplayWindow();
    this.#replay.set(ssrc, window);
    return window;
  }
}

/**
 * RFC 3711 3.3.2 replay list as a sliding bitmask: bit d set means index
 * (highest - d) was received. Indices do not wrap (RFC 3711 3.3.1: re-key first).
 */
class ReplayWindow {
  #highest = -1;
  #seen = 0n;

  fresh(index: number): boolean {
    if (index > this.#highest) return true;
    const age = this.#highest - index;
    return age < REPLAY_WINDOW_SIZE && ((this.#seen >> BigInt(age)) & 1n) === 0n;
  }

  accept(index: number): void {
    if (index > this.#highest) {
      const shift = this.#highest < 0 ? REPLAY_WINDOW_SIZE : index - this.#highest;
      this.#seen = shift >= REPLAY_WINDOW_SIZE
        ? 1n
        : BigInt.asUintN(REPLAY_WINDOW_SIZE, (this.#seen << BigInt(shift)) | 1n);
      this.#highest = index;
    } else {
      this.#seen |= 1n << BigInt(this.#highest - index);
    }
  }
}

// --- the two profiles ---------------------------------------------------------

/** The E flag and index read from a packet whose size fits the profile's trailer. */
interface SrtcpTrailer {
  encrypted: boolean;
  index: number;
}

interface SrtcpCipher {
  seal(rtcp: Uint8Array, ssrc: number, index: number): Uint8Array;
  /** undefined when the packet is too short for header + trailer. */
  readTrailer(packet: Uint8Array): SrtcpTrailer | undefined;
  /** The RTCP packet, or undefined when the tag does not verify. */
  open(packet: Uint8Array, ssrc: number, trailer: SrtcpTrailer): Uint8Array | undefined;
}

function createSrtcpCipher(keys: SessionKeys): SrtcpCipher {
  if (keys.key.length !== 16) throw new Error(`SRTCP session key must be 16 bytes, got ${keys.key.length}`);
  if (keys.profile === "AEAD_AES_128_GCM") return new GcmSrtcpCipher(keys.key, saltOf(keys, 12));
  if (keys.authKey?.length !== 20) {
    throw new Error(
      `AES_CM_128_HMAC_SHA1_80 needs the 20-byte SRTCP authentication key, got ${keys.authKey?.length ?? "none"}`,
    );
  }
  return new CtrSrtcpCipher(keys.key, saltOf(keys, 14), keys.authKey);
}

function saltOf(keys: SessionKeys, size: number): Uint8Array {
  if (keys.salt.length < size) {
    throw new Error(`${keys.profile} SRTCP session salt must be at least ${size} bytes, got ${keys.salt.length}`);
  }
  return new Uint8Array(keys.salt.subarray(0, size));
}

function readTrailerWord(packet: Uint8Array, at: number): SrtcpTrailer {
  const word = readUint32(packet, at);
  return { encrypted: word >= SRTCP_E_FLAG, index: word & MAX_SRTCP_INDEX };
}

/** AEAD_AES_128_GCM: seals through aesGcm.ts, opens with node:crypto (RTCP is a few packets a second). */
class GcmSrtcpCipher implements SrtcpCipher {
  readonly #key: Uint8Array;
  readonly #salt: Uint8Array;
  #sealer: AesGcmSealer | undefined;

  constructor(key: Uint8Array, salt: Uint8Array) {
    this.#key = new Uint8Array(key);
    this.#salt = salt;
  }

  /** RFC 7714 9.1: IV = (00 00 || SSRC || 00 00 || 0 || 31-bit index) XOR salt. */
  #iv(ssrc: number, index: number): Buffer {
    const iv = Buffer.alloc(12);
    iv.writeUInt32BE(ssrc, 2);
    iv.writeUInt32BE(index, 8);
    for (let i = 0; i < 12; i++) iv[i]! ^= this.#salt[i]!;
    return iv;
  }

  /** RFC 7714 9.2, 17: E=1, AAD = header(8) || E+index; the tag, then E+index, follow the ciphertext. */
  seal(rtcp: Uint8Array, ssrc: number, index: number): Uint8Array {
    const out = Buffer.allocUnsafe(rtcp.length + AES_GCM_TAG_SIZE + SRTCP_INDEX_SIZE);
    out.set(rtcp.subarray(0, RTCP_CLEAR_HEADER_SIZE), 0);
    const indexAt = out.length - SRTCP_INDEX_SIZE;
    out.writeUInt32BE((SRTCP_E_FLAG | index) >>> 0, indexAt);
    const aad = Buffer.concat([rtcp.subarray(0, RTCP_CLEAR_HEADER_SIZE), out.subarray(indexAt)]);
    this.#sealer ??= createAesGcmSealer(this.#key);
    this.#sealer.seal(this.#iv(ssrc, index), aad, rtcp.subarray(RTCP_CLEAR_HEADER_SIZE), out, RTCP_CLEAR_HEADER_SIZE);
    return out;
  }

  readTrailer(packet: Uint8Array): SrtcpTrailer | undefined {
    if (packet.length < RTCP_CLEAR_HEADER_SIZE + AES_GCM_TAG_SIZE + SRTCP_INDEX_SIZE) return undefined;
    return readTrailerWord(packet, packet.length - SRTCP_INDEX_SIZE);
  }

  /** RFC 7714 9.2, 17: E=0 authenticates the whole RTCP packet as AAD and encrypts nothing. */
  open(packet: Uint8Array, ssrc: number, trailer: SrtcpTrailer): Uint8Array | undefined {
    const indexAt = packet.length - SRTCP_INDEX_SIZE;
    const tagAt = indexAt - AES_GCM_TAG_SIZE;
    const clearEnd = trailer.encrypted ? RTCP_CLEAR_HEADER_SIZE : tagAt;
    const decipher = createDecipheriv("aes-128-gcm", this.#key, this.#iv(ssrc, trailer.index), {
      authTagLength: AES_GCM_TAG_SIZE,
    });
    decipher.setAAD(Buffer.concat([packet.subarray(0, clearEnd), packet.subarray(indexAt)]));
    decipher.setAuthTag(packet.subarray(tagAt, indexAt));
    const plaintext = decipher.update(packet.subarray(clearEnd, tagAt));
    try {
      decipher.final(); // throws exactly when the tag does not verify (SP 800-38D 7.2)
    } catch {
      return undefined;
    }
    return Buffer.concat([packet.subarray(0, clearEnd), plaintext]);
  }
}

/** AES_CM_128_HMAC_SHA1_80: AES in counter mode, then HMAC-SHA1 cut to 80 bits. */
class CtrSrtcpCipher implements SrtcpCipher {
  readonly #key: Uint8Array;
  readonly #salt: Uint8Array;
  /** HMAC state with the key absorbed once; each packet works on a copy (RFC 2104). */
  readonly #hmac: HmacSha1;

  constructor(key: Uint8Array, salt: Uint8Array, authKey: Uint8Array) {
    this.#key = new Uint8Array(key);
    this.#salt = salt;
    this.#hmac = createHmacSha1(authKey);
  }

  /** RFC 3711 4.1.1: IV = (salt * 2^16) XOR (SSRC * 2^64) XOR (SRTCP index * 2^16). */
  #iv(ssrc: number, index: number): Buffer {
    const iv = Buffer.alloc(16);
    iv.writeUInt32BE(ssrc, 4);
    iv.writeUInt32BE(index, 10);
    for (let i = 0; i < 14; i++) iv[i]! ^= this.#salt[i]!;
    return iv;
  }

  /** AES-CM is its own inverse: the same call encrypts and decrypts. */
  #crypt(data: Uint8Array, ssrc: number, index: number): Buffer {
    return createCipheriv("aes-128-ctr", this.#key, this.#iv(ssrc, index)).update(data);
  }

  /** RFC 3711 4.2: HMAC-SHA1 over the authenticated portion (3.4: everything before the tag), cut to 80 bits. */
  #tag(authenticated: Uint8Array): Uint8Array {
    return this.#hmac.copy().update(authenticated).digest().subarray(0, HMAC_SHA1_80_TAG_SIZE);
  }

  seal(rtcp: Uint8Array, ssrc: number, index: number): Uint8Array {
    const out = Buffer.allocUnsafe(rtcp.length + SRTCP_INDEX_SIZE + HMAC_SHA1_80_TAG_SIZE);
    out.set(rtcp.subarray(0, RTCP_CLEAR_HEADER_SIZE), 0);
    out.set(this.#crypt(rtcp.subarray(RTCP_CLEAR_HEADER_SIZE), ssrc, index), RTCP_CLEAR_HEADER_SIZE);
    out.writeUInt32BE((SRTCP_E_FLAG | index) >>> 0, rtcp.length);
    const tagAt = rtcp.length + SRTCP_INDEX_SIZE;
    out.set(this.#tag(out.subarray(0, tagAt)), tagAt);
    return out;
  }

  readTrailer(packet: Uint8Array): SrtcpTrailer | undefined {
    if (packet.length < RTCP_CLEAR_HEADER_SIZE + SRTCP_INDEX_SIZE + HMAC_SHA1_80_TAG_SIZE) return undefined;
    return readTrailerWord(packet, packet.length - HMAC_SHA1_80_TAG_SIZE - SRTCP_INDEX_SIZE);
  }

  open(packet: Uint8Array, ssrc: number, trailer: SrtcpTrailer): Uint8Array | undefined {
    const tagAt = packet.length - HMAC_SHA1_80_TAG_SIZE;
    if (!timingSafeEqual(this.#tag(packet.subarray(0, tagAt)), packet.subarray(tagAt))) return undefined;
    const rtcpEnd = tagAt - SRTCP_INDEX_SIZE;
    const out = Buffer.from(packet.subarray(0, rtcpEnd));
    if (trailer.encrypted) {
      out.set(this.#crypt(out.subarray(RTCP_CLEAR_HEADER_SIZE), ssrc, trailer.index), RTCP_CLEAR_HEADER_SIZE);
    }
    return out;
  }
}

function readUint32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

import { createCipheriv } from "node:crypto";
import { createHmacSha1, type HmacSha1 } from "../runtime/hmacSha1.ts";
import {
  AES_GCM_TAG_SIZE,
  type AesGcmBackend,
  type AesGcmSealer,
  createAesGcmSealer,
  nativeGcmContext,
} from "./aesGcm.ts";
import type { SessionKeys, SrtpProfile } from "./sessionKeys.ts";
import { frameSealingAvailable, type FrameSealTarget } from "./srtpFrameSealer.ts";

/** The RTP header fields a sender sets per packet (RFC 3550 5.1: version 2, no padding, extension or CSRC). */
export interface RtpHeaderFields {
  ssrc: number;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  marker: boolean;
}

export const RTP_FIXED_HEADER_SIZE = 12;
const HMAC_SHA1_80_TAG_SIZE = 10; // RFC 3711 5.2: 80-bit authentication tag

/**
 * Encrypts one sender's RTP packets (RFC 3711 SRTP; RFC 7714 for AES-GCM, sealed by aesGcm.ts):
 * writes the 12-byte header and the encrypted payload and tag straight into
 * one datagram. Nothing is kept per packet: the caller owns the packet index
 * (rollover counter and sequence number, RFC 3711 3.3.1), so a retransmission
 * of an index encrypts to the same bytes.
 *
 * Why not werift's SrtpSession: it builds a header object, serializes it,
 * derives the IV through generic writers and concatenates three buffers for
 * every packet; this does the same work in about half the time (bench/).
 */
export class SrtpEncryptor {
  readonly profile: SrtpProfile;
  readonly #key: Uint8Array;
  readonly #salt: Uint8Array;
  readonly #iv: Buffer;
  /** The header being encrypted, kept apart as GCM's AAD (a view into the datagram costs more than this copy). */
  readonly #header = Buffer.alloc(RTP_FIXED_HEADER_SIZE);
  readonly #gcm: AesGcmSealer | undefined;
  /** The rollover counter as the 4 bytes AES-CM authenticates after the packet. */
  readonly #roc = Buffer.alloc(4);
  readonly #hmac: HmacSha1 | undefined;

  /** `options.gcmBackend` forces an AES-GCM backend (tests, benchmarks); see lib/srtp/aesGcm.ts. */
  constructor(keys: SessionKeys, options: { gcmBackend?: AesGcmBackend } = {}) {
    if (keys.key.length !== 16) throw new Error(`SRTP session key must be 16 bytes, got ${keys.key.length}`);
    this.profile = keys.profile;
    this.#key = keys.key;
    if (keys.profile === "AEAD_AES_128_GCM") {
      this.#salt = keys.salt.subarray(0, 12);
      this.#iv = Buffer.alloc(12);
      this.#gcm = createAesGcmSealer(keys.key, { backend: options.gcmBackend });
    } else {
      if (!keys.authKey) throw new Error("AES_CM_128_HMAC_SHA1_80 needs the session authentication key");
      this.#salt = keys.salt.subarray(0, 14);
      this.#iv = Buffer.alloc(16);
      // HMAC state with the key absorbed once; each packet works on a copy (RFC 2104).
      this.#hmac = createHmacSha1(keys.authKey);
    }
  }

  /**
   * This sender's keys for sealing whole frames natively (srtpFrameSealer.ts),
   * or undefined where that cannot be done: AES-CM, or no libcrypto or TinyCC.
   * The target is only valid while this encryptor is alive (it owns the key context).
   */
  frameSealTarget(ssrc: number, payloadType: number): FrameSealTarget | undefined {
    const context = this.#gcm && nativeGcmContext(this.#gcm);
    if (!context || !frameSealingAvailable()) return undefined;
    return { context, salt: this.#salt, ssrc, payloadType };
  }

  /** Bytes an encrypted packet adds to header + payload. */
  get overhead(): number {
    return this.profile === "AEAD_AES_128_GCM" ? AES_GCM_TAG_SIZE : HMAC_SHA1_80_TAG_SIZE;
  }

  /** Size of the datagram encrypt() makes of a payload. */
  datagramSize(payload: Uint8Array): number {
    return RTP_FIXED_HEADER_SIZE + payload.length + this.overhead;
  }

  /** One SRTP datagram (header, encrypted payload, tag) in a new buffer. `rollover` is the ROC of RFC 3711 3.3.1. */
  encrypt(header: RtpHeaderFields, rollover: number, payload: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(this.datagramSize(payload));
    this.encryptInto(header, rollover, payload, out, 0);
    return out;
  }

  /** The same datagram written at `into[at]` (datagramSize() bytes): straight into a send batch. */
  encryptInto(header: RtpHeaderFields, rollover: number, payload: Uint8Array, into: Uint8Array, at: number): void {
    const size = this.datagramSize(payload);
    if (at < 0 || at + size > into.length) {
      throw new RangeError(`datagram of ${size} bytes does not fit at ${at} in ${into.length}`);
    }
    writeRtpHeader(this.#header, header);
    into.set(this.#header, at);
    if (this.profile === "AEAD_AES_128_GCM") this.#encryptGcm(into, at, header, rollover, payload);
    else this.#encryptCtr(into, at, header, rollover, payload);
  }

  /** RFC 7714 8: IV = (00 00 || SSRC || ROC || SEQ) XOR salt; the header is the AAD; the tag follows. */
  #encryptGcm(into: Uint8Array, at: number, header: RtpHeaderFields, rollover: number, payload: Uint8Array): void {
    const iv = this.#iv;
    iv.writeUInt16BE(0, 0);
    iv.writeUInt32BE(header.ssrc >>> 0, 2);
    iv.writeUInt32BE(rollover >>> 0, 6);
    iv.writeUInt16BE(header.sequenceNumber, 10);
    for (let i = 0; i < 12; i++) iv[i]! ^= this.#salt[i]!;
    this.#gcm!.seal(iv, this.#header, payload, into, at + RTP_FIXED_HEADER_SIZE);
  }

  /**
   * RFC 3711 4.1.1: IV = (salt << 16) XOR (SSRC << 64) XOR (index << 16), the
   * index being ROC || SEQ; then 4.2: HMAC-SHA1 over header, encrypted
   * payload and ROC, cut to 80 bits.
   */
  #encryptCtr(into: Uint8Array, at: number, header: RtpHeaderFields, rollover: number, payload: Uint8Array): void {
    const iv = this.#iv;
    iv.fill(0);
    iv.writeUInt32BE(header.ssrc >>> 0, 4);
    iv.writeUInt32BE(rollover >>> 0, 8);
    iv.writeUInt16BE(header.sequenceNumber, 12);
    for (let i = 0; i < 14; i++) iv[i]! ^= this.#salt[i]!;
    into.set(createCipheriv("aes-128-ctr", this.#key, iv).update(payload), at + RTP_FIXED_HEADER_SIZE);
    const authenticated = into.subarray(at, at + RTP_FIXED_HEADER_SIZE + payload.length);
    this.#roc.writeUInt32BE(rollover >>> 0, 0);
    const tag = this.#hmac!.copy().update(authenticated).update(this.#roc).digest();
    into.set(tag.subarray(0, HMAC_SHA1_80_TAG_SIZE), at + authenticated.length);
  }
}

/** RFC 3550 5.1 fixed header: V=2, P=0, X=0, CC=0. */
export function writeRtpHeader(out: Buffer, header: RtpHeaderFields): void {
  out[0] = 0x80;
  out[1] = (header.marker ? 0x80 : 0) | (header.payloadType & 0x7f);
  out.writeUInt16BE(header.sequenceNumber & 0xffff, 2);
  out.writeUInt32BE(header.timestamp >>> 0, 4);
  out.writeUInt32BE(header.ssrc >>> 0, 8);
}

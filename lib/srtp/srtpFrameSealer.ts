import { fileURLToPath } from "node:url";
import { libcrypto, type NativeFrameSealer, type NativeGcmContext } from "../runtime/libcrypto.ts";
import type { RtpPayload } from "../rtp/rtpPayload.ts";

/**
 * SRTP AEAD_AES_128_GCM for a whole frame per call: lib/srtp/srtpFrame.c,
 * compiled once per process by Bun's built-in TinyCC, with OpenSSL's EVP
 * functions handed to it (lib/runtime/libcrypto.ts). Why: sealing packet by
 * packet from JS costs a header object, a closure and five FFI calls per
 * packet per viewer; one call per frame per viewer leaves JS out of the
 * per-packet work (bench/sendPath.ts measures both). Deno has no built-in C
 * compiler: there frames are sealed packet by packet.
 */

/** Bytes an AEAD_AES_128_GCM datagram adds to a payload: the RTP header and the tag (RFC 7714 14.2). */
export const GCM_DATAGRAM_OVERHEAD = 12 + 16;
const HEADER_BYTES = 8;
const RECORD_BYTES = 16;

/**
 * A frame's packets laid out once per stream for the native sealer: records
 * (payload offset, length, RTP timestamp, marker) then the payloads, copied
 * into one ArrayBuffer of its own. The copy is what makes native access safe:
 * nothing keeps a pointer into JS-owned payloads, whose storage JSC may move.
 */
export interface SealableFrame {
  readonly bytes: Uint8Array;
  readonly count: number;
  /** Each packet's datagram size once sealed: payload + GCM_DATAGRAM_OVERHEAD. */
  readonly datagramLengths: Int32Array;
  /** Their sum: the room the frame takes in a send batch. */
  readonly datagramBytes: number;
  readonly payloadBytes: number;
}

const layouts = new WeakMap<RtpPayload[], SealableFrame>();

/**
 * The frame's layout, made on first use and kept as long as the packets are
 * (every viewer shares it). So a stream's fast-start GOP holds its payloads
 * twice once viewers are handed over: ~0.75 MB more for 2 s at 3 Mbit/s.
 */
export function sealableFrame(packets: RtpPayload[]): SealableFrame {
  let frame = layouts.get(packets);
  if (!frame) {
    frame = layOut(packets);
    layouts.set(packets, frame);
  }
  return frame;
}

function layOut(packets: RtpPayload[]): SealableFrame {
  let payloadBytes = 0;
  for (const p of packets) payloadBytes += p.payload.length;
  const recordsEnd = HEADER_BYTES + RECORD_BYTES * packets.length;
  const bytes = new Uint8Array(new ArrayBuffer(recordsEnd + payloadBytes));
  const words = new DataView(bytes.buffer);
  const datagramLengths = new Int32Array(packets.length);
  words.setUint32(0, packets.length, true);
  let offset = recordsEnd;
  packets.forEach((p, i) => {
    const record = HEADER_BYTES + RECORD_BYTES * i;
    words.setUint32(record, offset, true);
    words.setUint32(record + 4, p.payload.length, true);
    words.setUint32(record + 8, p.timestamp >>> 0, true);
    words.setUint32(record + 12, p.marker ? 1 : 0, true);
    bytes.set(p.payload, offset);
    offset += p.payload.length;
    datagramLengths[i] = p.payload.length + GCM_DATAGRAM_OVERHEAD;
  });
  return {
    bytes,
    count: packets.length,
    datagramLengths,
    datagramBytes: payloadBytes + GCM_DATAGRAM_OVERHEAD * packets.length,
    payloadBytes,
  };
}

const C_SOURCE = fileURLToPath(new URL("./srtpFrame.c", import.meta.url));

/** undefined: not tried yet; null: unavailable (no libcrypto, no C compiler), not retried. */
let native: NativeFrameSealer | null | undefined;

/** The compiled sealer, or undefined (tried once per process). */
function loadNative(): NativeFrameSealer | undefined {
  if (native === undefined) native = libcrypto()?.frameSealer(C_SOURCE) ?? null;
  return native ?? undefined;
}

/** Whether frames can be sealed natively in this process. */
export function frameSealingAvailable(): boolean {
  return loadNative() !== undefined;
}

/** One viewer's per-packet fields for sealFrame: its RTP and SRTP state. */
export interface FrameSealTarget {
  /** An EVP_CIPHER_CTX with this viewer's session key set (aesGcm.ts nativeGcmContext). */
  context: NativeGcmContext;
  /** The 12-byte session salt (RFC 7714 8.1). */
  salt: Uint8Array;
  ssrc: number;
  payloadType: number;
}

/**
 * Writes the frame's datagrams for one viewer at `into[at]`, back to back
 * (frame.datagramBytes bytes): packet i gets index firstIndex + i (RFC 3711
 * 3.3.1, ROC * 65536 + SEQ) and timestamp (its own + timestampAdd) mod 2^32.
 */
export function sealFrame(
  frame: SealableFrame,
  target: FrameSealTarget,
  firstIndex: number,
  timestampAdd: number,
  into: Uint8Array,
  at: number,
): void {
  const sealer = loadNative();
  if (!sealer) throw new Error("native SRTP frame sealing is unavailable (see frameSealingAvailable)");
  if (target.salt.length !== 12) throw new RangeError(`AES-GCM SRTP salt must be 12 bytes, got ${target.salt.length}`);
  if (!Number.isInteger(at) || at < 0 || at + frame.datagramBytes > into.length) {
    throw new RangeError(`a frame of ${frame.datagramBytes} datagram bytes does not fit at ${at} in ${into.length}`);
  }
  const written = sealer.sealFrame(
    target.context,
    target.salt,
    frame.bytes,
    into,
    at,
    target.ssrc | 0,
    target.payloadType,
    firstIndex,
    timestampAdd | 0,
  );
  if (written !== frame.datagramBytes) {
    throw new Error(`native SRTP sealing failed (OpenSSL refused a call, wrote ${written})`);
  }
}

import type { RtpPayload } from "../rtp/rtpPayload.ts";
import type { DatagramWriter } from "../udp/udpMux.ts";
import type { SrtpEncryptor } from "./srtpEncryptor.ts";
import { type FrameSealTarget, sealableFrame, sealFrame } from "./srtpFrameSealer.ts";

/**
 * Where a viewer's datagrams go: a ViewerLink after the hand-over (the
 * viewer's route on the UDP mux), werift's selected ICE pair before it.
 */
export interface MediaLink {
  readonly closed: boolean;
  /** `length` bytes that `write` puts straight into the send batch. */
  queueWith(length: number, write: DatagramWriter): void;
  /** A run of datagrams written back to back by one `write`; false when they must go one by one. */
  queueRun(lengths: Int32Array, bytes: number, write: DatagramWriter): boolean;
}

/** What a track seals with: its SRTP session keys (in an encryptor), its SSRC and negotiated payload type. */
export interface SrtpTrackKeys {
  srtp: SrtpEncryptor;
  ssrc: number;
  payloadType: number;
}

export interface SrtpSinkOptions {
  /** Seal each frame in one native call where possible (AES-GCM, lib/srtp/srtpFrameSealer.ts); default true. */
  nativeFrames?: boolean;
}

/**
 * One viewer track's SRTP (RFC 3711; RFC 7714 AES-GCM) sealed straight into
 * the send batch: the 12-byte RTP header (RFC 3550 5.1) with the track's
 * SSRC, payload type, the index's sequence number and the given timestamp,
 * then the encrypted payload and tag. Nothing is kept per packet: the caller
 * owns the index (rollover counter and sequence number, RFC 3711 3.3.1), so a
 * retransmission encrypts to the same bytes. An RtpSink (lib/pipeline/viewerTrack.ts).
 *
 * With AES-GCM, libcrypto and TinyCC a whole frame is sealed in one native
 * call (sendFrame); elsewhere sendFrame says no and the track goes packet by packet.
 */
export class SrtpSink {
  readonly #link: MediaLink;
  readonly #srtp: SrtpEncryptor;
  readonly #ssrc: number;
  readonly #payloadType: number;
  readonly #frameSeal: FrameSealTarget | undefined;

  constructor(link: MediaLink, keys: SrtpTrackKeys, options: SrtpSinkOptions = {}) {
    this.#link = link;
    this.#srtp = keys.srtp;
    this.#ssrc = keys.ssrc;
    this.#payloadType = keys.payloadType;
    this.#frameSeal = (options.nativeFrames ?? true)
      ? keys.srtp.frameSealTarget(keys.ssrc, keys.payloadType)
      : undefined;
  }

  /** Whether whole frames are sealed in one native call (else packet by packet). */
  get sealsFrames(): boolean {
    return this.#frameSeal !== undefined;
  }

  /** `packetIndex`: RFC 3711 3.3.1 index, rollover counter * 65536 + sequence number. False once the link is closed. */
  send(packetIndex: number, timestamp: number, marker: boolean, payload: Uint8Array): boolean {
    if (this.#link.closed) return false;
    const srtp = this.#srtp;
    const header = {
      ssrc: this.#ssrc,
      payloadType: this.#payloadType,
      sequenceNumber: packetIndex & 0xffff,
      timestamp,
      marker,
    };
    const rollover = Math.floor(packetIndex / 0x10000);
    this.#link.queueWith(
      srtp.datagramSize(payload),
      (into, at) => srtp.encryptInto(header, rollover, payload, into, at),
    );
    return true;
  }

  /**
   * The frame's datagrams for this viewer sealed in one native call, straight
   * into the batch (the frame laid out once per stream, sealableFrame).
   * False when this sink cannot, or the link will not take the run whole.
   */
  sendFrame(packets: RtpPayload[], firstIndex: number, timestampAdd: number): boolean {
    const target = this.#frameSeal;
    if (!target || this.#link.closed) return false;
    const frame = sealableFrame(packets);
    const write = (into: Uint8Array, at: number) => sealFrame(frame, target, firstIndex, timestampAdd, into, at);
    return this.#link.queueRun(frame.datagramLengths, frame.datagramBytes, write);
  }
}

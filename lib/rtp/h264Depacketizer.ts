import { PTS_CLOCK_HZ, PTS_WRAP, type VideoAccessUnit } from "../accessUnit.ts";
import { isKeyframe, NAL } from "../codec/h264.ts";
import { isGap, type RtpItem } from "./jitterBuffer.ts";
import type { RtpClock } from "./rtpClock.ts";

/** RFC 6184 5.3: the NAL unit header's type field. */
const NAL_TYPE_MASK = 0x1f;
/** RFC 6184 5.8: the FU indicator's F and NRI bits, which the reassembled NAL unit header keeps. */
const NAL_F_NRI_MASK = 0xe0;
/** RFC 6184 5.6: types 1-23 are single NAL unit packets. */
const LAST_SINGLE_NAL_TYPE = 23;
/** RFC 6184 5.7.1: each aggregated NAL unit is preceded by a 16-bit size. */
const STAP_A_SIZE_BYTES = 2;
/** RFC 6184 5.8: FU indicator + FU header. */
const FU_A_HEADER_BYTES = 2;
/** FU header bits (RFC 6184 5.8): S = first fragment, E = last fragment. */
const FU_START = 0x80;
const FU_END = 0x40;
/** RFC 6184 6.3: what packetization-mode 1 allows, for error messages. */
const MODE_1_TYPES = "single NAL unit 1-23, STAP-A 24, FU-A 28";
/**
 * Default wait for a requested keyframe before asking again: 500 ms, a few
 * round trips plus the time an encoder takes to produce a (large) IDR; the
 * request or the IDR itself may have been lost too.
 */
const DEFAULT_KEYFRAME_RETRY_MS = 500;

export interface H264DepacketizerOptions {
  /** Called when loss broke a picture or no keyframe came yet: the server should send PLI (RFC 4585 6.3.1). */
  onKeyframeNeeded?: (reason: string) => void;
  /** Malformed RTP payloads (also counted in stats.malformed). */
  onDecodeError?: (message: string) => void;
  /** While waiting for a keyframe, ask again after this much media time, in ms. Default 500. */
  keyframeRetryMs?: number;
}

export interface H264DepacketizerStats {
  accessUnits: number;
  /** Pictures dropped: broken by loss or malformed, or depending on one that was. */
  droppedPictures: number;
  malformed: number;
  keyframeRequests: number;
}

interface Picture {
  timestamp: number;
  pts: number;
  nalus: Uint8Array[];
  /** Why the picture cannot be decoded, if it cannot. */
  broken: string | undefined;
}

interface Fragment {
  header: number;
  parts: Uint8Array[];
}

/**
 * RFC 6184 depacketizer for packetization-mode 1: single NAL unit packets
 * (5.6), STAP-A (5.7.1), FU-A (5.8). An access unit ends on the marker bit or
 * when the RTP timestamp changes (5.1). A gap inside a picture, or a packet
 * that cannot be parsed, drops the picture and every later one up to the next
 * IDR, and onKeyframeNeeded is called so the server can send PLI. Pictures
 * before the first IDR are dropped the same way. pts = dts (WebRTC H.264 has
 * no B-frames) from the track's RtpClock.
 */
export class H264Depacketizer {
  readonly stats: H264DepacketizerStats = { accessUnits: 0, droppedPictures: 0, malformed: 0, keyframeRequests: 0 };
  readonly #clock: RtpClock;
  readonly #onKeyframeNeeded: (reason: string) => void;
  readonly #onDecodeError: (message: string) => void;
  readonly #retryTicks: number;
  #picture: Picture | undefined;
  #fragment: Fragment | undefined;
  /** Set by a gap: a picture begun by the next packet may have lost its start, or depend on a lost picture. */
  #pendingBreak: string | undefined;
  #waitingForKeyframe = true;
  #lastPts: number | undefined;
  #lastRequestPts: number | undefined;

  constructor(clock: RtpClock, options: H264DepacketizerOptions = {}) {
    this.#clock = clock;
    this.#onKeyframeNeeded = options.onKeyframeNeeded ?? (() => {});
    this.#onDecodeError = options.onDecodeError ?? (() => {});
    this.#retryTicks = (options.keyframeRetryMs ?? DEFAULT_KEYFRAME_RETRY_MS) * (PTS_CLOCK_HZ / 1000);
  }

  push(item: RtpItem): VideoAccessUnit[] {
    if (isGap(item)) {
      this.#lose(item.gap === 0 ? "the RTP sequence number restarted" : `${item.gap} RTP packet(s) lost`);
      return [];
    }
    const { payload: buffer, header } = item;
    if (buffer.byteLength === 0) return []; // padding only (RFC 3550 5.1 P bit), e.g. bandwidth probes
    const payload = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    const out: VideoAccessUnit[] = [];
    if (this.#picture && this.#picture.timestamp !== header.timestamp) this.#finish(out);
    if (this.#picture) this.#pendingBreak = undefined; // the loss before this packet was inside this picture
    this.#picture ??= this.#begin(header.timestamp);
    this.#read(payload, this.#picture);
    if (header.marker) this.#finish(out);
    return out;
  }

  #begin(timestamp: number): Picture {
    const pts = this.#clock.pts(timestamp);
    this.#lastPts = pts;
    const picture = { timestamp, pts, nalus: [], broken: this.#pendingBreak };
    this.#pendingBreak = undefined;
    return picture;
  }

  #read(payload: Uint8Array, picture: Picture): void {
    const type = payload[0]! & NAL_TYPE_MASK;
    if (type >= 1 && type <= LAST_SINGLE_NAL_TYPE) picture.nalus.push(payload.slice()); // RFC 6184 5.6
    else if (type === NAL.STAP_A) this.#readStapA(payload, picture);
    else if (type === NAL.FU_A) this.#readFuA(payload, picture);
    else this.#malformed(picture, `packet type ${type} is not allowed in packetization-mode 1 (${MODE_1_TYPES})`);
  }

  /** RFC 6184 5.7.1: STAP-A header byte, then (16-bit size, NAL unit) pairs. */
  #readStapA(p: Uint8Array, picture: Picture): void {
    let i = 1;
    while (i < p.length) {
      if (i + STAP_A_SIZE_BYTES > p.length) {
        return this.#malformed(picture, `STAP-A ends inside a size field at offset ${i} of ${p.length}`);
      }
      const size = (p[i]! << 8) | p[i + 1]!;
      i += STAP_A_SIZE_BYTES;
      if (size === 0 || i + size > p.length) {
        const where = `at offset ${i} of ${p.length}`;
        return this.#malformed(picture, `STAP-A unit of ${size} bytes ${where} does not fit the payload`);
      }
      picture.nalus.push(p.slice(i, i + size));
      i += size;
    }
    if (i === 1) this.#malformed(picture, "STAP-A without any NAL unit");
  }

  /** RFC 6184 5.8: FU indicator (F, NRI, type 28), FU header (S, E, R, NAL type), fragment. */
  #readFuA(p: Uint8Array, picture: Picture): void {
    if (p.length <= FU_A_HEADER_BYTES) return this.#malformed(picture, `FU-A of ${p.length} bytes carries no fragment`);
    const fuHeader = p[1]!;
    const header = (p[0]! & NAL_F_NRI_MASK) | (fuHeader & NAL_TYPE_MASK);
    if (fuHeader & FU_START) {
      if (this.#fragment) this.#malformed(picture, "FU-A start while an earlier fragmented NAL unit was still open");
      this.#fragment = { header, parts: [] };
    } else if (!this.#fragment) {
      // Normally the start was lost and a gap already broke the picture; otherwise the sender erred.
      if (!picture.broken) this.#malformed(picture, "FU-A fragment without its start");
      return;
    } else if (this.#fragment.header !== header) {
      const change = `0x${hex(this.#fragment.header)} to 0x${hex(header)}`;
      return this.#malformed(picture, `FU-A NAL unit header changed from ${change} mid-fragment`);
    }
    this.#fragment.parts.push(p.subarray(FU_A_HEADER_BYTES));
    if (fuHeader & FU_END) {
      picture.nalus.push(joinFragment(this.#fragment));
      this.#fragment = undefined;
    }
  }

  #finish(out: VideoAccessUnit[]): void {
    const picture = this.#picture!;
    this.#picture = undefined;
    if (this.#fragment) {
      picture.broken ??= "a fragmented NAL unit ended without its last FU-A";
      this.#fragment = undefined;
    }
    if (picture.broken) return this.#drop(picture.broken);
    if (picture.nalus.length === 0) return;
    const keyframe = isKeyframe(picture.nalus);
    if (this.#waitingForKeyframe && !keyframe) return this.#drop("no keyframe (IDR) since the stream started or broke");
    this.#waitingForKeyframe = false;
    this.stats.accessUnits++;
    out.push({ track: "video", pid: 0, pts: picture.pts, dts: picture.pts, keyframe, nalus: picture.nalus });
  }

  /**
   * Loss reported by the jitter buffer: breaks the picture in progress, and
   * the next one if the next packet starts one (the lost packets may have held
   * its start, or a whole picture it depends on).
   */
  #lose(reason: string): void {
    this.#fragment = undefined; // it lost a piece; later fragments of it are ignored
    if (this.#picture) this.#picture.broken ??= reason;
    this.#pendingBreak ??= reason;
    this.#needKeyframe(reason);
  }

  #malformed(picture: Picture, message: string): void {
    this.stats.malformed++;
    this.#onDecodeError(message);
    picture.broken ??= message;
  }

  #drop(reason: string): void {
    this.stats.droppedPictures++;
    this.#needKeyframe(reason);
  }

  /** Asks at once when the stream breaks, then again every keyframeRetryMs of media time until an IDR comes. */
  #needKeyframe(reason: string): void {
    const alreadyWaiting = this.#waitingForKeyframe;
    this.#waitingForKeyframe = true;
    const now = this.#lastPts;
    const last = this.#lastRequestPts;
    const elapsed = now === undefined || last === undefined ? Infinity : (now - last + PTS_WRAP) % PTS_WRAP;
    if (alreadyWaiting && elapsed < this.#retryTicks) return;
    this.#lastRequestPts = now;
    this.stats.keyframeRequests++;
    this.#onKeyframeNeeded(reason);
  }
}

function joinFragment(fragment: Fragment): Uint8Array {
  let size = 1;
  for (const part of fragment.parts) size += part.length;
  const nalu = new Uint8Array(size);
  nalu[0] = fragment.header;
  let offset = 1;
  for (const part of fragment.parts) {
    nalu.set(part, offset);
    offset += part.length;
  }
  return nalu;
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}

import type { RtpPacket } from "werift";
import type { VideoAccessUnit } from "../accessUnit.ts";
import { isKeyframe, NAL } from "../codec/h264.ts";
import type { RtpItem } from "./jitterBuffer.ts";
import type { TrackClock } from "./rtpClock.ts";

export interface H264DepacketizerOptions {
  /** Called when loss broke a picture: the server should send PLI (RFC 4585 6.3.1). */
  onKeyframeNeeded?: (reason: string) => void;
}

interface Picture {
  timestamp: number;
  nalus: Uint8Array[];
  broken: boolean;
}

/**
 * RFC 6184 depacketizer (single NAL 5.6, STAP-A 5.7.1, FU-A 5.8). An access
 * unit ends on the marker bit or a timestamp change. Loss inside a picture
 * drops it and every picture up to the next IDR, which is asked for.
 */
export class H264Depacketizer {
  droppedPictures = 0;
  readonly #clock: TrackClock;
  readonly #onKeyframeNeeded: (reason: string) => void;
  #picture: Picture | undefined;
  #fragment: number[] | undefined;
  #waitingForKeyframe = true;

  constructor(clock: TrackClock, options: H264DepacketizerOptions = {}) {
    this.#clock = clock;
    this.#onKeyframeNeeded = options.onKeyframeNeeded ?? (() => {});
  }

  push(item: RtpItem): VideoAccessUnit[] {
    const out: VideoAccessUnit[] = [];
    if ("gap" in item) {
      if (this.#picture) this.#picture.broken = true;
      this.#fragment = undefined;
      this.#lost(`${item.gap} RTP packet(s) lost`);
      return out;
    }
    const { timestamp, marker } = item.header;
    if (this.#picture && this.#picture.timestamp !== timestamp) this.#finish(out);
    this.#picture ??= { timestamp, nalus: [], broken: false };
    this.#read(item, this.#picture);
    if (marker) this.#finish(out);
    return out;
  }

  #read(packet: RtpPacket, picture: Picture): void {
    const p = new Uint8Array(packet.payload.buffer, packet.payload.byteOffset, packet.payload.byteLength);
    const type = (p[0] ?? 0) & 0x1f;
    if (type >= 1 && type <= 23) picture.nalus.push(p.slice());
    else if (type === NAL.STAP_A) this.#readStapA(p, picture);
    else if (type === NAL.FU_A) this.#readFuA(p, picture);
    else picture.broken = true; // STAP-B, MTAP, FU-B: not in packetization-mode 1
  }

  #readStapA(p: Uint8Array, picture: Picture): void {
    for (let i = 1; i + 2 <= p.length; ) {
      const size = (p[i]! << 8) | p[i + 1]!;
      if (size === 0 || i + 2 + size > p.length) {
        picture.broken = true;
        return;
      }
      picture.nalus.push(p.slice(i + 2, i + 2 + size));
      i += 2 + size;
    }
  }

  #readFuA(p: Uint8Array, picture: Picture): void {
    if (p.length < 3) return void (picture.broken = true);
    const start = (p[1]! & 0x80) !== 0;
    const end = (p[1]! & 0x40) !== 0;
    if (start) this.#fragment = [(p[0]! & 0xe0) | (p[1]! & 0x1f)];
    if (!this.#fragment) return void (picture.broken = true); // its start was lost
    for (let i = 2; i < p.length; i++) this.#fragment.push(p[i]!);
    if (end) {
      picture.nalus.push(Uint8Array.from(this.#fragment));
      this.#fragment = undefined;
    }
  }

  #finish(out: VideoAccessUnit[]): void {
    const picture = this.#picture;
    this.#picture = undefined;
    if (this.#fragment) {
      this.#fragment = undefined;
      if (picture) picture.broken = true;
    }
    if (!picture || picture.nalus.length === 0) return;
    const keyframe = isKeyframe(picture.nalus);
    if (picture.broken) return this.#lost("a picture arrived incomplete");
    if (this.#waitingForKeyframe && !keyframe) {
      this.droppedPictures++;
      return;
    }
    this.#waitingForKeyframe = false;
    const pts = this.#clock.pts(picture.timestamp);
    out.push({ track: "video", pid: 0, pts, dts: pts, keyframe, nalus: picture.nalus });
  }

  #lost(reason: string): void {
    this.droppedPictures++;
    const alreadyWaiting = this.#waitingForKeyframe;
    this.#waitingForKeyframe = true;
    if (!alreadyWaiting) this.#onKeyframeNeeded(reason);
  }
}

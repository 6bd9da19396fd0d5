import { PTS_CLOCK_HZ, PTS_WRAP } from "../accessUnit.ts";
import { nearestDistance } from "../wrapArithmetic.ts";

const TICKS_PER_MS = PTS_CLOCK_HZ / 1000; // 90

/**
 * How far the PCR trails the newest timestamp: 100 ms (100 * 90 ticks). A
 * decoder slaved to the PCR (ISO/IEC 13818-1 2.4.2, T-STD) then holds each
 * access unit up to 100 ms before its DTS: room for a large keyframe's bytes
 * and for tracks that reach the muxer a little apart, yet little added
 * latency for a live gateway. (ffmpeg's CLI muxes files with 700 ms.)
 */
export const PCR_LEAD_TICKS = 100 * TICKS_PER_MS;
/**
 * A track whose latest timestamp is more than 1 s (1000 * 90 ticks) behind the
 * unit being muxed has stalled (muted audio with DTX, a frozen screen share):
 * it no longer holds the PCR back. (A track not seen yet holds nothing.)
 */
export const STALLED_TRACK_TICKS = 1000 * TICKS_PER_MS;
/**
 * A step back of the PCR by more than 10 s (10_000 * 90 ticks) is a new time
 * base (the timestamps restarted), not skew between tracks: the PCR follows it
 * and the packet carrying it sets discontinuity_indicator (2.4.3.5).
 */
export const TIME_BASE_JUMP_TICKS = 10_000 * TICKS_PER_MS;

/** b - a on the 33-bit clock, in -2^32 .. 2^32 - 1 (the nearest way round). */
export function ticksBetween(a: number, b: number): number {
  return nearestDistance(a, b, PTS_WRAP);
}

export interface MuxClockTick {
  /** program_clock_reference_base to send now (90 kHz, 33 bits). */
  pcr: number;
  /** True when the time base jumped back: the next PCR goes out with discontinuity_indicator. */
  discontinuity: boolean;
}

/**
 * The muxer's system clock (ISO/IEC 13818-1 2.4.2.2), derived from the units'
 * timestamps since the muxer has no clock of its own. Units of different
 * tracks arrive interleaved in arrival order, not in timestamp order (a video
 * frame is complete only after its last RTP packet, later than the audio of
 * the same instant). The PCR is
 *
 *   min(newest timestamp - PCR_LEAD_TICKS, latest timestamp of the slowest track)
 *
 * over the live tracks, never stepping back. The first term makes it advance
 * with every unit of any track (audio every 20 ms keeps it moving between
 * frames of a slow video); the second keeps it at or before every DTS still to
 * come, as each track's timestamps only grow. Limits: a track lagging more
 * than STALLED_TRACK_TICKS is ignored, and a track whose FIRST unit is older
 * than the PCR already sent (it started more than the lead behind the others)
 * gets a PCR after its DTS: the PCR holds still rather than stepping back.
 */
export class TsMuxClock {
  readonly #latest = new Map<string, number>();
  #pcr: number | undefined;

  /** The last PCR handed out, if any. */
  get pcr(): number | undefined {
    return this.#pcr;
  }

  /** Notes a unit's decode time (DTS, or PTS for audio) on `track`; returns the system clock now. */
  advance(track: string, time: number): MuxClockTick {
    this.#latest.set(track, time);
    let ahead = 0; // the newest track, relative to this unit
    let behind = 0; // the slowest live track, relative to this unit
    for (const other of this.#latest.values()) {
      const offset = ticksBetween(time, other);
      if (offset > ahead && offset <= TIME_BASE_JUMP_TICKS) ahead = offset;
      if (offset < behind && offset >= -STALLED_TRACK_TICKS) behind = offset;
    }
    const candidate = wrap(time + Math.min(ahead - PCR_LEAD_TICKS, behind));
    const last = this.#pcr;
    const step = last === undefined ? 0 : ticksBetween(last, candidate);
    if (last !== undefined && step < 0 && step >= -TIME_BASE_JUMP_TICKS) return { pcr: last, discontinuity: false };
    this.#pcr = candidate;
    if (step < -TIME_BASE_JUMP_TICKS) {
      this.#latest.clear(); // the other tracks' times belong to the old time base
      this.#latest.set(track, time);
      return { pcr: candidate, discontinuity: true };
    }
    return { pcr: candidate, discontinuity: false };
  }
}

function wrap(ticks: number): number {
  return ((ticks % PTS_WRAP) + PTS_WRAP) % PTS_WRAP;
}

import { isJsonObject } from "../jsonObject.ts";
import { BadRequestError } from "../errors.ts";

/**
 * What a player says of its own playback (POST /whep/{stream}/{id}/report):
 * every field optional, counts and durations since the session began.
 */
export interface PlayerReport {
  /** From the WHEP POST to the first decoded frame, in ms. */
  timeToFirstFrameMs?: number;
  /** How many times playback stalled (the picture froze waiting for data). */
  stalls?: number;
  /** How long it stalled in all, in ms. */
  stalledMs?: number;
  framesDecoded?: number;
  framesDropped?: number;
  /** The player's own round-trip estimate (its ICE candidate pair's), in ms. */
  rttMs?: number;
}

type PlayerReportField = keyof PlayerReport;

/** Each field's largest value: an hour for durations but the total stall time (a day), counts to 10^9. */
const FIELD_LIMITS: Record<PlayerReportField, { max: number; integer: boolean }> = {
  timeToFirstFrameMs: { max: 3_600_000, integer: false },
  stalls: { max: 1e9, integer: true },
  stalledMs: { max: 86_400_000, integer: false },
  framesDecoded: { max: 1e9, integer: true },
  framesDropped: { max: 1e9, integer: true },
  rttMs: { max: 3_600_000, integer: false },
};

const FIELDS = Object.keys(FIELD_LIMITS) as PlayerReportField[];

/** A report from its JSON text; throws BadRequestError saying what is wrong. */
export function parsePlayerReport(text: string): PlayerReport {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BadRequestError('a player report must be a JSON object, e.g. {"timeToFirstFrameMs": 420}');
  }
  if (!isJsonObject(body)) {
    throw new BadRequestError('a player report must be a JSON object, e.g. {"timeToFirstFrameMs": 420}');
  }
  const report: PlayerReport = {};
  for (const [key, value] of Object.entries(body)) {
    if (!(FIELDS as string[]).includes(key)) {
      throw new BadRequestError(`a player report has no field "${key}"; its fields are ${FIELDS.join(", ")}`);
    }
    report[key as PlayerReportField] = checkedValue(key as PlayerReportField, value);
  }
  return report;
}

function checkedValue(field: PlayerReportField, value: unknown): number {
  const { max, integer } = FIELD_LIMITS[field];
  const valid = typeof value === "number" && Number.isFinite(value) && value >= 0 && value <= max &&
    (!integer || Number.isInteger(value));
  if (!valid) {
    const kind = integer ? "a whole number" : "a number";
    throw new BadRequestError(`${field} must be ${kind} from 0 to ${max}, got ${JSON.stringify(value)}`);
  }
  return value as number;
}

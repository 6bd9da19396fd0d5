import type { PipelineLimits } from "./livePipeline.ts";

/** Input counts as flowing when a byte came this recently. */
const INPUT_FLOWING_MS = 2000;
/** Output silent this long (at most half the stall timeout) while input flows: "stalled" in the API, before any swap. */
const STALL_NOTICE_MS = 2000;

/** What the watchdog knows of the current attempt. */
export interface AttemptWatch {
  startedAt: number;
  /** undefined: no output yet. */
  lastOutputAt: number | undefined;
  /** When the latest input byte came; undefined: none yet. */
  lastInputAt: number | undefined;
  inputSegmentsInFlight: number;
}

/** Replace the attempt (and why), say it is stalled, or nothing. */
export type Verdict = { replace: string } | "stalled" | undefined;

/**
 * The watchdogs of issue 15 (go-livepeer's, in server/ai_live_video.go): no
 * first output, output stalled while input flows, a worker behind on its
 * input. An attempt whose input does not flow is never judged: the end or a
 * pause of the input is not the pipeline's fault.
 */
export function judgeAttempt(attempt: AttemptWatch, limits: PipelineLimits, now: number): Verdict {
  const inputFlowing = attempt.lastInputAt !== undefined && now - attempt.lastInputAt < INPUT_FLOWING_MS;
  if (attempt.lastOutputAt === undefined) {
    const waited = now - attempt.startedAt;
    return inputFlowing && waited >= limits.firstOutputTimeoutMs
      ? { replace: `no output within ${limits.firstOutputTimeoutMs} ms` }
      : undefined;
  }
  const silentMs = now - attempt.lastOutputAt;
  if (inputFlowing && silentMs >= limits.stallTimeoutMs) {
    return { replace: `output stalled for ${limits.stallTimeoutMs} ms while input flows` };
  }
  const inFlight = attempt.inputSegmentsInFlight;
  if (inFlight > limits.maxSegmentsInFlight) {
    return { replace: `${inFlight} input segments in flight (more than ${limits.maxSegmentsInFlight})` };
  }
  const noticeMs = Math.min(STALL_NOTICE_MS, limits.stallTimeoutMs / 2);
  return inputFlowing && silentMs >= noticeMs ? "stalled" : undefined;
}

import type { AttemptContext, PipelineAttempt, StartAttempt } from "./pipelineAttempt.ts";

/**
 * The "passthrough" pipeline: the publisher's MPEG-TS is the output, byte for
 * byte. Also what a failing pipeline falls back to (lib/pipeline/livePipeline.ts).
 */
export const startPassthrough: StartAttempt = (context: AttemptContext): PipelineAttempt => {
  let stopped = false;
  const { promise: done, resolve: finish } = Promise.withResolvers<void>();
  return {
    write(chunk) {
      if (!stopped) context.output(chunk);
    },
    endInput() {
      stopped = true;
      finish();
    },
    stop() {
      stopped = true;
      finish();
      return Promise.resolve();
    },
    done,
    stats: () => ({ inputDroppedBytes: 0, inputDrops: 0, inputSegmentsInFlight: 0 }),
  };
};

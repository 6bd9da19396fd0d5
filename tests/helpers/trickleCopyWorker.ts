// test layer: loopback
/**
 * The loopback copy worker (ai-runner's API, input segments copied unchanged
 * to the output) for the runner pipeline's tests. It lives in bench/lib/ so
 * the benchmark can use it too (bench/ must not import tests/).
 */
export { type CopyWorker, type CopyWorkerJob, startCopyWorker } from "../../bench/lib/trickleCopyWorker.ts";

// The three ways bench/swapGap.ts makes a stream's output change under a viewer, each as it
// happens in production: the pipeline's process dies, the worker gives up its job, the publisher's
// connection drops and comes back.
import type { CopyWorker } from "../trickleCopyWorker.ts";

/** The command pipeline's ffmpeg dies at once (SIGKILL, as the OOM killer would), found by the unique word in its argv. */
export async function killCommand(mark: string): Promise<void> {
  const pgrep = Bun.spawnSync(["pgrep", "-f", mark], { stdout: "pipe" });
  const pids = pgrep.stdout.toString().split("\n").filter(Boolean).map(Number);
  if (pids.length !== 1) throw new Error(`expected one process with "${mark}" in its argv, found ${pids.length}`);
  process.kill(pids[0]!, "SIGKILL");
  // The next restart reuses the mark: wait until this one is gone, so it is never found twice.
  const deadline = Date.now() + 2000;
  while (Bun.spawnSync(["kill", "-0", String(pids[0])]).exitCode === 0 && Date.now() < deadline) await Bun.sleep(10);
}

/**
 * The copy worker stops serving its current job: its output channel is closed (DELETE), as a worker
 * does when its job ends. Wisp sees the output end early and starts a new attempt: a new start
 * request to the worker (a fresh job).
 */
export async function stopWorkerJob(worker: CopyWorker): Promise<void> {
  const job = worker.jobs.at(-1);
  if (!job) throw new Error("the copy worker has no job");
  const response = await fetch(String(job.body.publish_url), { method: "DELETE" });
  if (!response.ok) throw new Error(`closing the worker's output answered ${response.status}`);
}

/** The publisher goes away (its push ends) and comes back `pauseMs` later with a new push. */
export async function reconnectPublisher(
  push: { stop(): Promise<void>; start(): void },
  pauseMs: number,
): Promise<void> {
  await push.stop();
  await Bun.sleep(pauseMs);
  push.start();
}

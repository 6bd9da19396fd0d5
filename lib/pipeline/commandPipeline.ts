/**
 * The command pipeline: a local process (argv, no shell), e.g. ffmpeg, that
 * reads MPEG-TS on stdin and writes MPEG-TS on stdout. One attempt is one
 * process. The publisher's params are not passed to it: a command is fixed
 * by its argv.
 */
import { type ChildExit, type ChildProcess, spawn } from "../runtime/childProcess.ts";
import type { AttemptContext, AttemptStats, PipelineAttempt, StartAttempt } from "./pipelineAttempt.ts";
import { PipeInputWriter } from "./pipeInputWriter.ts";
import { StderrLog } from "./stderrLog.ts";

/** stop(): time between SIGTERM (ffmpeg finishes its output) and SIGKILL. */
export const STOP_GRACE_MS = 2_000;
/**
 * After the process exited, how long its stdout and stderr may stay open:
 * a grandchild it left behind can hold them, and `done` must still settle.
 */
export const PIPES_CLOSE_AFTER_EXIT_MS = 1_000;

export interface CommandPipelineOptions {
  /** PIPELINE_INPUT_QUEUE_BYTES: input held while the process does not read, before skipping to a keyframe. */
  inputQueueBytes: number;
  /** Default STOP_GRACE_MS. */
  stopGraceMs?: number;
}

/** A StartAttempt that runs `argv` for every attempt. */
export function commandPipeline(argv: readonly string[], options: CommandPipelineOptions): StartAttempt {
  if (argv.length === 0) throw new Error("a command pipeline needs a non-empty argv");
  return (context) => new CommandAttempt(argv, options, context);
}

type State = "running" | "input ended" | "failed" | "stopped";

class CommandAttempt implements PipelineAttempt {
  readonly done: Promise<void>;
  readonly #argv: readonly string[];
  readonly #context: AttemptContext;
  readonly #stopGraceMs: number;
  readonly #stderr: StderrLog;
  #child: ChildProcess | undefined;
  #input: PipeInputWriter | undefined;
  #state: State = "running";
  #exited = false;
  #killTimer: ReturnType<typeof setTimeout> | undefined;
  #stdout: ReadableStreamDefaultReader<Uint8Array> | undefined;

  constructor(argv: readonly string[], options: CommandPipelineOptions, context: AttemptContext) {
    this.#argv = argv;
    this.#context = context;
    this.#stopGraceMs = options.stopGraceMs ?? STOP_GRACE_MS;
    this.#stderr = new StderrLog(context.logger);
    try {
      this.#child = spawn(argv, { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    } catch (error) {
      // Said once the caller holds its attempt (failed() is about an attempt it knows); `done` settles after.
      this.done = Promise.resolve().then(() =>
        this.#fail(`command ${this.#name} could not start: ${messageOf(error)}`)
      );
      return;
    }
    context.logger.info("pipeline command started", { pid: this.#child.pid, command: argv.join(" ") });
    this.#input = new PipeInputWriter(this.#child.stdin!, {
      maxQueuedBytes: options.inputQueueBytes,
      onError: (error) => context.logger.debug("pipeline stdin closed", { error: messageOf(error) }),
    });
    this.done = this.#run(this.#child).catch((error) =>
      context.logger.error("pipeline command attempt broke", { error: messageOf(error) })
    );
  }

  write(chunk: Uint8Array): void {
    if (this.#state === "running") this.#input?.write(chunk);
  }

  endInput(): void {
    if (this.#state !== "running") return;
    this.#state = "input ended";
    this.#input?.end();
  }

  stop(reason: string): Promise<void> {
    if (this.#state === "stopped") return this.done;
    this.#state = "stopped";
    this.#input?.abort();
    const child = this.#child;
    if (child && !this.#exited) {
      this.#context.logger.info("pipeline command stopping", { reason, pid: child.pid });
      child.kill("SIGTERM");
      this.#killTimer = setTimeout(() => child.kill("SIGKILL"), this.#stopGraceMs);
    }
    return this.done;
  }

  stats(): AttemptStats {
    const input = this.#input?.stats;
    return { inputDroppedBytes: input?.droppedBytes ?? 0, inputDrops: input?.drops ?? 0, inputSegmentsInFlight: 0 };
  }

  get #name(): string {
    return JSON.stringify(this.#argv[0]);
  }

  /** Settles once the process has exited and its stdout ended (or was given up on); never rejects. */
  async #run(child: ChildProcess): Promise<void> {
    const stdoutEnded = this.#readStdout(child.stdout!);
    const stderrEnded = this.#stderr.read(child.stderr!);
    const exit = await child.exited;
    this.#exited = true;
    clearTimeout(this.#killTimer);
    const pipesClosed = Promise.all([stdoutEnded, stderrEnded]);
    let giveUp: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<void>((resolve) => (giveUp = setTimeout(resolve, PIPES_CLOSE_AFTER_EXIT_MS)));
    await Promise.race([pipesClosed, timedOut]);
    clearTimeout(giveUp);
    void this.#stdout?.cancel().catch(() => {}); // no-ops for a pipe that ended
    this.#stderr.cancel();
    this.#onExit(exit);
  }

  /** Hands stdout on as output until it ends; after stop() it is still read (so the process can finish) but ignored. */
  async #readStdout(stdout: ReadableStream<Uint8Array>): Promise<void> {
    const reader = stdout.getReader();
    this.#stdout = reader;
    try {
      for (let read = await reader.read(); !read.done; read = await reader.read()) {
        if (this.#state !== "stopped" && this.#state !== "failed") this.#emit(read.value);
      }
    } catch (error) {
      if (this.#state !== "stopped") this.#context.logger.warn("pipeline stdout failed", { error: messageOf(error) });
    }
  }

  /** A consumer that throws must not stop the reading: the process would block on a full stdout. */
  #emit(chunk: Uint8Array): void {
    try {
      this.#context.output(chunk);
    } catch (error) {
      this.#context.logger.error("pipeline output consumer threw", { error: messageOf(error) });
    }
  }

  #onExit(exit: ChildExit): void {
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    const logger = this.#context.logger;
    if (this.#state === "stopped") return logger.info(`pipeline command ${how} after stop`);
    if (this.#state === "running") {
      const last = this.#stderr.lastLine;
      return this.#fail(
        `command ${this.#name} ${how} before its input ended${last ? `; its last message: ${last}` : ""}`,
      );
    }
    if (exit.code === 0) logger.info("pipeline command finished after its input ended");
    else logger.warn(`pipeline command ${how} after its input ended`, { lastMessage: this.#stderr.lastLine });
  }

  #fail(reason: string): void {
    if (this.#state === "stopped" || this.#state === "failed") return;
    this.#state = "failed";
    this.#input?.abort();
    this.#context.logger.warn("pipeline command failed", { reason });
    this.#context.failed(reason);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A child process's stderr (ffmpeg's messages) as log lines, rate-limited:
 * at most `maxLines` per `windowMs`, then one line saying how many were
 * suppressed. The last line is kept: it usually says why a process failed.
 */
import type { Logger } from "../logger.ts";

/** ffmpeg prints a few lines a second at most when healthy; a burst beyond this is a loop of the same error. */
export const STDERR_LINES_PER_WINDOW = 20;
export const STDERR_WINDOW_MS = 10_000;
/** Longest line kept (characters); a longer one is cut, so a stream without newlines cannot grow memory. */
export const STDERR_MAX_LINE_CHARS = 2_000;

export interface StderrLogOptions {
  maxLines?: number;
  windowMs?: number;
  /** Milliseconds clock (default performance.now), injectable for tests. */
  now?: () => number;
}

/** Counts lines in fixed windows: the first `maxLines` of each are logged, the rest counted and reported. */
export class StderrLog {
  readonly #logger: Logger;
  readonly #maxLines: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  #windowStart = Number.NEGATIVE_INFINITY;
  #linesInWindow = 0;
  #suppressed = 0;
  #lastLine: string | undefined;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;

  constructor(logger: Logger, options: StderrLogOptions = {}) {
    this.#logger = logger;
    this.#maxLines = options.maxLines ?? STDERR_LINES_PER_WINDOW;
    this.#windowMs = options.windowMs ?? STDERR_WINDOW_MS;
    this.#now = options.now ?? (() => performance.now());
  }

  /** The last non-empty line the process wrote, if any. */
  get lastLine(): string | undefined {
    return this.#lastLine;
  }

  line(text: string): void {
    const line = text.trim().slice(0, STDERR_MAX_LINE_CHARS);
    if (line === "") return;
    this.#lastLine = line;
    const now = this.#now();
    if (now - this.#windowStart >= this.#windowMs) {
      this.#reportSuppressed();
      this.#windowStart = now;
      this.#linesInWindow = 0;
    }
    if (this.#linesInWindow++ < this.#maxLines) this.#logger.info("pipeline stderr", { line });
    else this.#suppressed++;
  }

  /**
   * Reads `stream` to its end, or until cancel(): one line() per line (\n or \r:
   * ffmpeg's progress uses \r). Never rejects.
   */
  async read(stream: ReadableStream<Uint8Array>): Promise<void> {
    const reader = stream.getReader();
    this.#reader = reader;
    const decoder = new TextDecoder();
    let partial = "";
    try {
      for (let read = await reader.read(); !read.done; read = await reader.read()) {
        const lines = (partial + decoder.decode(read.value, { stream: true })).split(/\r\n|\r|\n/);
        partial = lines.pop()!.slice(-STDERR_MAX_LINE_CHARS);
        for (const line of lines) this.line(line);
      }
    } catch (error) {
      // The pipe broke with the process: what was read is all there is.
      this.#logger.debug("pipeline stderr read failed", { error: String(error) });
    }
    this.line(partial + decoder.decode());
    this.finish();
  }

  /** Stops reading (a grandchild may hold the pipe open after the process itself has exited). */
  cancel(): void {
    void this.#reader?.cancel().catch(() => {});
  }

  /** The end of the stream: says how many lines the last window suppressed. */
  finish(): void {
    this.#reportSuppressed();
  }

  #reportSuppressed(): void {
    if (this.#suppressed === 0) return;
    this.#logger.info("pipeline stderr lines suppressed", { suppressed: this.#suppressed, windowMs: this.#windowMs });
    this.#suppressed = 0;
  }
}

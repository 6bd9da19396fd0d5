import { describe, expect, test } from "bun:test";
import { createLogger } from "../../lib/logger.ts";
import { STDERR_MAX_LINE_CHARS, StderrLog } from "../../lib/pipeline/stderrLog.ts";

function logged() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger("debug", (line) => lines.push(JSON.parse(line)));
  return { lines, logger };
}

const streamOf = (...chunks: string[]) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
      controller.close();
    },
  });

describe("StderrLog", () => {
  test("at most maxLines a window, then the count of suppressed lines when the window ends", () => {
    const { lines, logger } = logged();
    let now = 0;
    const log = new StderrLog(logger, { maxLines: 3, windowMs: 10_000, now: () => now });
    for (let i = 0; i < 10; i++) log.line(`error ${i}`);
    expect(lines.map((l) => l.line)).toEqual(["error 0", "error 1", "error 2"]);
    now = 10_000;
    log.line("later");
    expect(lines.slice(3)).toMatchObject([
      { msg: "pipeline stderr lines suppressed", suppressed: 7, windowMs: 10_000 },
      { msg: "pipeline stderr", line: "later" },
    ]);
    expect(log.lastLine).toBe("later");
  });

  test("reads lines split over chunks, \\r and \\n alike, and reports what the last window suppressed", async () => {
    const { lines, logger } = logged();
    const log = new StderrLog(logger, { maxLines: 2, now: () => 0 });
    await log.read(streamOf("frame=  1\rframe=", "  2\r\nInput #0, mpegts\n\nlast wo", "rds"));
    expect(lines).toMatchObject([
      { msg: "pipeline stderr", line: "frame=  1" },
      { msg: "pipeline stderr", line: "frame=  2" },
      { msg: "pipeline stderr lines suppressed", suppressed: 2 },
    ]);
    expect(log.lastLine).toBe("last words");
  });

  test("a line without an end is cut, so it cannot grow without bound", async () => {
    const { logger } = logged();
    const log = new StderrLog(logger);
    await log.read(streamOf("x".repeat(3 * STDERR_MAX_LINE_CHARS), "y".repeat(STDERR_MAX_LINE_CHARS)));
    expect(log.lastLine!.length).toBe(STDERR_MAX_LINE_CHARS);
  });
});

import type { LogLevel } from "./config.ts";

/** Structured fields carried by a logger and its children: {stream, requestId, session}. */
export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogSink = (line: string) => void;

/** A logger writing one JSON object per line: {"t":..., "level":..., "msg":..., ...fields}. */
export function createLogger(
  level: LogLevel,
  sink: LogSink = (line) => console.log(line),
  base: LogFields = {},
): Logger {
  const threshold = LEVELS[level];
  const write = (lvl: LogLevel, message: string, fields?: LogFields) => {
    if (LEVELS[lvl] < threshold) return;
    sink(JSON.stringify({ t: new Date().toISOString(), level: lvl, msg: message, ...base, ...fields }));
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (fields) => createLogger(level, sink, { ...base, ...fields }),
  };
}

/** A logger that drops everything: for unit tests. */
export const silentLogger: Logger = createLogger("error", () => {});

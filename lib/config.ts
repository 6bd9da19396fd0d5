/**
 * The only place that reads the environment. Every key is validated, typed and
 * frozen; a bad value fails at startup with a message naming the variable.
 * The README's configuration table documents each key (tests/config.test.ts
 * checks that the two agree).
 */

export interface Config {
  /** HTTP listen port. */
  port: number;
  /** HTTP listen address. */
  host: string;
  /** Most concurrent WHEP viewers per stream name; 0 = unlimited. */
  maxViewersPerStream: number;
  /** How long a WHEP POST waits for a stream that has no output yet, in ms. */
  whepWaitTimeoutMs: number;
  /** Bytes a viewer's queue may hold before it skips to the next keyframe. */
  viewerQueueBytes: number;
  /** Bearer tokens accepted for WHIP publishing; empty = no authentication. */
  whipTokens: readonly string[];
  /** How often a WHIP publisher is asked for a keyframe (PLI), in ms; 0 = only on loss and new viewers. */
  whipKeyframeIntervalMs: number;
  /** Log level: "debug" | "info" | "warn" | "error". */
  logLevel: LogLevel;
}

export type LogLevel = "debug" | "info" | "warn" | "error";

/** One documented key: its variable, default and meaning (rendered into the README). */
export interface ConfigKey {
  env: string;
  defaultValue: string;
  description: string;
}

export const CONFIG_KEYS: readonly ConfigKey[] = [
  { env: "PORT", defaultValue: "8080", description: "HTTP port for the API, WHIP/WHEP and the player." },
  { env: "HOST", defaultValue: "0.0.0.0", description: "HTTP listen address." },
  {
    env: "WHEP_MAX_VIEWERS",
    defaultValue: "5",
    description: "Most concurrent WHEP viewers per stream (as go-livepeer); 0 means unlimited.",
  },
  {
    env: "WHEP_WAIT_TIMEOUT_MS",
    defaultValue: "30000",
    description: "How long a WHEP POST for a stream without output waits before answering 404.",
  },
  {
    env: "VIEWER_QUEUE_BYTES",
    defaultValue: "4000000",
    description: "Media a slow viewer may have queued before it skips to the next keyframe.",
  },
  {
    env: "WHIP_TOKENS",
    defaultValue: "",
    description: "Comma-separated bearer tokens accepted for WHIP publishing; empty means anyone may publish.",
  },
  {
    env: "WHIP_KEYFRAME_INTERVAL_MS",
    defaultValue: "2000",
    description: "How often a WHIP publisher is asked for a keyframe (RTCP PLI), as go-livepeer; 0 = only on loss.",
  },
  { env: "LOG_LEVEL", defaultValue: "info", description: "debug, info, warn or error." },
];

export class ConfigError extends Error {
  override name = "ConfigError";
}

type Env = Record<string, string | undefined>;

function read(env: Env, key: string): string {
  const value = env[key];
  if (value !== undefined && value !== "") return value;
  const known = CONFIG_KEYS.find((k) => k.env === key);
  if (!known) throw new Error(`no default for config key ${key}`);
  return known.defaultValue;
}

function list(env: Env, key: string): string[] {
  return read(env, key)
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}

function integer(env: Env, key: string, min: number, max: number): number {
  const raw = read(env, key);
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${key}=${JSON.stringify(raw)} is not a whole number from ${min} to ${max}`);
  }
  return value;
}

function oneOf<T extends string>(env: Env, key: string, allowed: readonly T[]): T {
  const raw = read(env, key);
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${key}=${JSON.stringify(raw)} must be one of ${allowed.join(", ")}`);
  }
  return raw as T;
}

/** Builds the configuration from an environment (process.env by default). Throws ConfigError. */
export function loadConfig(env: Env = process.env): Readonly<Config> {
  return Object.freeze({
    port: integer(env, "PORT", 0, 65535),
    host: read(env, "HOST"),
    maxViewersPerStream: integer(env, "WHEP_MAX_VIEWERS", 0, 1_000_000),
    // Bun caps one request's idle timeout at 255 s; the wait must end before it.
    whepWaitTimeoutMs: integer(env, "WHEP_WAIT_TIMEOUT_MS", 0, 240_000),
    viewerQueueBytes: integer(env, "VIEWER_QUEUE_BYTES", 10_000, 1_000_000_000),
    whipTokens: Object.freeze(list(env, "WHIP_TOKENS")),
    whipKeyframeIntervalMs: integer(env, "WHIP_KEYFRAME_INTERVAL_MS", 0, 60_000),
    logLevel: oneOf(env, "LOG_LEVEL", ["debug", "info", "warn", "error"] as const),
  });
}

/**
 * Named pipelines, as PIPELINES (JSON) or the file PIPELINES_FILE names
 * defines them: an object of name -> spec. lib/config.ts reads the variables
 * and names them in errors; this file says what a valid spec is:
 *
 *   "passthrough"                                    the input is the output
 *   {"command": ["ffmpeg", "-i", "pipe:0", ...], "onFailure"?: "passthrough" | "end"}
 *   {"runner": "http://host:port", "token"?: "...", "modelId"?: "...", "params"?: {...}, "onFailure"?: ...}
 *
 * `onFailure`: what a stream does once its pipeline has failed more often
 * than the swap budget allows: carry on unprocessed (default) or end.
 * "passthrough" always exists and means only that.
 */

import { isJsonObject } from "../jsonObject.ts";

export type OnFailure = "passthrough" | "end";

export type PipelineSpec =
  | { kind: "passthrough" }
  | { kind: "command"; command: readonly string[]; onFailure: OnFailure }
  | {
    kind: "runner";
    /** Base URL of an ai-runner-style worker, without a trailing slash. */
    runner: string;
    /** Sent as `Authorization: Bearer` (the worker's AUTH_TOKEN). */
    token: string | undefined;
    modelId: string | undefined;
    /** The pipeline's own params; a publisher's ?params= are merged over them. */
    params: Readonly<Record<string, unknown>>;
    onFailure: OnFailure;
  };

/** A bad spec; the message names the pipeline, the caller adds the variable. */
export class PipelineConfigError extends Error {
  override name = "PipelineConfigError";
}

export const PASSTHROUGH = "passthrough";
/** Names travel in `?pipeline=NAME`: letters, digits, `_`, `.`, `-`, up to 64 characters. */
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ON_FAILURE: readonly OnFailure[] = ["passthrough", "end"];
const COMMAND_KEYS = new Set(["command", "onFailure"]);
const RUNNER_KEYS = new Set(["runner", "token", "modelId", "params", "onFailure"]);

/**
 * The pipelines a JSON text defines, "passthrough" included (empty text:
 * only it). Throws PipelineConfigError saying what is wrong and where.
 */
export function parsePipelines(text: string): ReadonlyMap<string, PipelineSpec> {
  const pipelines = new Map<string, PipelineSpec>([[PASSTHROUGH, Object.freeze({ kind: "passthrough" })]]);
  if (text.trim() === "") return pipelines;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new PipelineConfigError(`is not JSON (${error instanceof Error ? error.message : error})`);
  }
  if (!isJsonObject(json)) throw new PipelineConfigError("must be a JSON object of pipeline name -> spec");
  for (const [name, raw] of Object.entries(json)) {
    const spec = parseSpec(name, raw);
    if (name === PASSTHROUGH && spec.kind !== "passthrough") {
      throw new PipelineConfigError(`pipeline "${PASSTHROUGH}" is built in and can only be "passthrough"`);
    }
    pipelines.set(name, Object.freeze(spec));
  }
  return pipelines;
}

function parseSpec(name: string, raw: unknown): PipelineSpec {
  const fail = (what: string) => new PipelineConfigError(`pipeline ${JSON.stringify(name)}: ${what}`);
  if (!NAME_PATTERN.test(name)) {
    throw fail("a name is 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit");
  }
  if (raw === PASSTHROUGH) return { kind: "passthrough" };
  if (!isJsonObject(raw)) throw fail(`must be "passthrough", {"command": [...]} or {"runner": "http://..."}`);
  if ("command" in raw && "runner" in raw) throw fail(`has both "command" and "runner"; a pipeline is one of them`);
  if ("command" in raw) return parseCommand(raw, fail);
  if ("runner" in raw) return parseRunner(raw, fail);
  throw fail(`has neither "command" nor "runner"`);
}

type Fail = (what: string) => PipelineConfigError;

function parseCommand(raw: Record<string, unknown>, fail: Fail): PipelineSpec {
  checkKeys(raw, COMMAND_KEYS, fail);
  const command = raw.command;
  if (!Array.isArray(command) || command.length === 0 || !command.every((arg) => typeof arg === "string")) {
    throw fail(`"command" must be a non-empty array of strings (argv; no shell)`);
  }
  if (command[0] === "") throw fail(`"command" must start with a program name`);
  return { kind: "command", command: Object.freeze([...command]), onFailure: onFailure(raw, fail) };
}

function parseRunner(raw: Record<string, unknown>, fail: Fail): PipelineSpec {
  checkKeys(raw, RUNNER_KEYS, fail);
  const runner = raw.runner;
  if (typeof runner !== "string" || !URL.canParse(runner) || !/^https?:$/.test(new URL(runner).protocol)) {
    throw fail(`"runner" must be an http:// or https:// URL`);
  }
  const params = raw.params ?? {};
  if (!isJsonObject(params)) throw fail(`"params" must be a JSON object`);
  return {
    kind: "runner",
    runner: runner.replace(/\/+$/, ""),
    token: optionalString(raw, "token", fail),
    modelId: optionalString(raw, "modelId", fail),
    params: Object.freeze({ ...params }),
    onFailure: onFailure(raw, fail),
  };
}

/** Unknown keys are refused: a typo ("onfailure") would otherwise be silently ignored. */
function checkKeys(raw: Record<string, unknown>, allowed: ReadonlySet<string>, fail: Fail): void {
  const unknown = Object.keys(raw).filter((key) => !allowed.has(key));
  if (unknown.length > 0) {
    throw fail(`unknown key ${unknown.map((k) => JSON.stringify(k)).join(", ")} (known: ${[...allowed].join(", ")})`);
  }
}

function onFailure(raw: Record<string, unknown>, fail: Fail): OnFailure {
  const value = raw.onFailure ?? "passthrough";
  if (!ON_FAILURE.includes(value as OnFailure)) throw fail(`"onFailure" must be "passthrough" or "end"`);
  return value as OnFailure;
}

function optionalString(raw: Record<string, unknown>, key: string, fail: Fail): string | undefined {
  const value = raw[key];
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value === "") throw fail(`"${key}" must be a non-empty string`);
  return value;
}

/** The pipeline a publish without ?pipeline= uses; throws PipelineConfigError when `name` defines none. */
export function checkDefaultPipeline(name: string, pipelines: ReadonlyMap<string, PipelineSpec>): string {
  if (!pipelines.has(name)) {
    throw new PipelineConfigError(`names no pipeline; defined: ${[...pipelines.keys()].join(", ")}`);
  }
  return name;
}

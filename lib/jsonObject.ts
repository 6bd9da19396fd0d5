import { BadRequestError } from "./errors.ts";

/** A JSON object (`{…}`): not null, not an array. */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * `text` (a client's) as a JSON object; else a BadRequestError saying
 * `${what} is not JSON: …` or `${what} must be a JSON object, e.g. ${example}`.
 */
export function parseJsonObject(text: string, what: string, example: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new BadRequestError(`${what} is not JSON: ${(error as Error).message}`);
  }
  if (!isJsonObject(value)) throw new BadRequestError(`${what} must be a JSON object, e.g. ${example}`);
  return value;
}

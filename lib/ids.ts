import { randomBytes } from "node:crypto";

/** An unguessable identifier: 128 random bits, base64url (22 characters). */
export function unguessableId(): string {
  return randomBytes(16).toString("base64url");
}

/** Stream names appear in URLs and logs: keep them to a safe, readable alphabet. */
export const STREAM_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$/;

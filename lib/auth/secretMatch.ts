import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Whether `given` is `secret`, compared in constant time: both are hashed
 * first (SHA-256), so neither their bytes nor their lengths can be learnt
 * from how long a refusal takes. For ADMIN_TOKEN and METRICS_TOKEN.
 */
export function matchesSecret(given: string | undefined, secret: string): boolean {
  if (given === undefined) return false;
  return timingSafeEqual(sha256(given), sha256(secret));
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/**
 * The signature of a webhook body: `Wisp-Signature: sha256=<hex>`, the
 * HMAC-SHA256 (RFC 2104, FIPS 180-4) of the exact body bytes under
 * WEBHOOK_SECRET. A receiver computes the same over the bytes it got and
 * compares in constant time. WebCrypto, so it is the same on Bun and Deno.
 */
export const SIGNATURE_HEADER = "Wisp-Signature";

/** Signs bodies under one secret; the key is imported once. */
export class WebhookSigner {
  readonly #key: Promise<CryptoKey>;

  constructor(secret: string) {
    const keyBytes = new TextEncoder().encode(secret);
    this.#key = crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  }

  /** The header value for `body`: `sha256=` and the MAC in lowercase hex. */
  async sign(body: Uint8Array<ArrayBuffer>): Promise<string> {
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await this.#key, body));
    return `sha256=${Buffer.from(mac).toString("hex")}`;
  }
}

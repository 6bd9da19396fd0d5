import { createHash, type Hash } from "node:crypto";
import type { HmacSha1 } from "./hmacSha1.ts";

const SHA1_BLOCK_SIZE = 64;

/**
 * HMAC-SHA1 (RFC 2104) from node:crypto's SHA-1, whose state can be copied
 * (node:crypto's Hmac cannot): H((K ^ opad) || H((K ^ ipad) || message)),
 * with both padded keys absorbed once. For runtimes without Bun.CryptoHasher.
 */
export class NodeHmacSha1 implements HmacSha1 {
  private constructor(
    private readonly inner: Hash,
    private readonly outer: Hash,
  ) {}

  static keyed(key: Uint8Array | string): NodeHmacSha1 {
    let bytes = typeof key === "string" ? new TextEncoder().encode(key) : key;
    if (bytes.length > SHA1_BLOCK_SIZE) bytes = createHash("sha1").update(bytes).digest(); // RFC 2104 2: long keys are hashed first
    const block = new Uint8Array(SHA1_BLOCK_SIZE);
    block.set(bytes);
    const inner = createHash("sha1").update(block.map((b) => b ^ 0x36));
    const outer = createHash("sha1").update(block.map((b) => b ^ 0x5c));
    return new NodeHmacSha1(inner, outer);
  }

  update(data: Uint8Array): NodeHmacSha1 {
    this.inner.update(data);
    return this;
  }

  copy(): NodeHmacSha1 {
    return new NodeHmacSha1(this.inner.copy(), this.outer.copy());
  }

  digest(): Uint8Array {
    return this.outer.update(this.inner.digest()).digest();
  }
}

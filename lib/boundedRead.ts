import { PayloadTooLargeError, RequestTimeoutError } from "./errors.ts";

export interface BoundedReadOptions {
  /** Most bytes accepted; one more ends the read with PayloadTooLargeError. */
  maxBytes: number;
  /** The whole stream must have arrived by then, in ms (a slow sender is a held connection). */
  timeoutMs: number;
  /** Says what is being read, for the error messages: "the SDP offer", "the request body". */
  what: string;
}

/**
 * Reads a byte stream to its end within a size and a time bound, cancelling
 * it at once when either is passed: the bytes are never held beyond the limit.
 */
export async function readBounded(
  stream: ReadableStream<Uint8Array>,
  options: BoundedReadOptions,
): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new RequestTimeoutError(`${options.what} did not arrive within ${options.timeoutMs} ms (BODY_TIMEOUT_MS)`),
      );
    }, options.timeoutMs);
  });
  try {
    for (let r = await Promise.race([reader.read(), late]); !r.done; r = await Promise.race([reader.read(), late])) {
      total += r.value.byteLength;
      if (total > options.maxBytes) throw tooLarge(options);
      chunks.push(r.value);
    }
  } catch (error) {
    reader.cancel().catch(() => {});
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

export function tooLarge(options: Pick<BoundedReadOptions, "maxBytes" | "what">): PayloadTooLargeError {
  return new PayloadTooLargeError(`${options.what} is larger than ${options.maxBytes} bytes (MAX_BODY_BYTES)`);
}

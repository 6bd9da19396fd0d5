import { createHmac, timingSafeEqual } from "node:crypto";
import { type HttpServer, serveHttp } from "../../lib/runtime/httpServer.ts";

export interface ReceivedWebhook {
  headers: Headers;
  /** The exact body bytes, as the signature covers them. */
  bytes: Uint8Array;
  json: Record<string, unknown>;
}

/** A webhook receiver for the tests: a real HTTP server on a loopback port; `respond` decides each answer. */
export async function startWebhookReceiver(
  respond: (received: ReceivedWebhook, index: number) => Response | Promise<Response> = () =>
    new Response(null, { status: 204 }),
) {
  const received: ReceivedWebhook[] = [];
  const waiters = new Set<() => void>();
  const http: HttpServer = serveHttp(async (request) => {
    const bytes = new Uint8Array(await request.arrayBuffer());
    const webhook = { headers: request.headers, bytes, json: JSON.parse(new TextDecoder().decode(bytes)) };
    received.push(webhook);
    for (const wake of [...waiters]) wake();
    return await respond(webhook, received.length - 1);
  }, { port: 0, hostname: "127.0.0.1" });
  return {
    url: `http://127.0.0.1:${http.port}/hooks/wisp`,
    received,
    /** Resolves once `count` webhooks arrived (rejects after `timeoutMs`). */
    until(count: number, timeoutMs = 10_000): Promise<void> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (received.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${received.length} of ${count} webhooks arrived within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    stop: () => http.stop(true),
  };
}

/** What a receiver does with `Wisp-Signature: sha256=<hex>`: the HMAC-SHA256 of the body bytes, compared in constant time. */
export function signatureIsValid(webhook: ReceivedWebhook, secret: string): boolean {
  const header = webhook.headers.get("Wisp-Signature") ?? "";
  const expected = `sha256=${createHmac("sha256", secret).update(webhook.bytes).digest("hex")}`;
  return header.length === expected.length && timingSafeEqual(Buffer.from(header), Buffer.from(expected));
}

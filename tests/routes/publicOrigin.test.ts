import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { publicOrigin } from "../../routes/publicOrigin.ts";

async function originOf(trustProxy: boolean, headers: Record<string, string>): Promise<string> {
  const app = new Hono().get("/", (c) => c.text(publicOrigin(c, trustProxy)));
  const response = await app.request("http://internal:8080/", { headers });
  return await response.text();
}

describe("publicOrigin (TRUST_PROXY)", () => {
  test("off: the proxy's headers are ignored (anyone could send them)", async () => {
    expect(await originOf(false, { "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example" }))
      .toBe("http://internal:8080");
  });

  test("on: X-Forwarded-Proto and X-Forwarded-Host, the first of a list", async () => {
    expect(await originOf(true, { "X-Forwarded-Proto": "https, http" })).toBe("https://internal:8080");
    expect(await originOf(true, { "X-Forwarded-Proto": "https", "X-Forwarded-Host": "wisp.fly.dev" }))
      .toBe("https://wisp.fly.dev");
  });

  test("on: Forwarded (RFC 7239) wins, quoted values too; junk is ignored", async () => {
    expect(await originOf(true, { Forwarded: 'for=1.2.3.4;proto=https;host="wisp.example:8443", for=5.6.7.8' }))
      .toBe("https://wisp.example:8443");
    expect(await originOf(true, { "X-Forwarded-Proto": "gopher", "X-Forwarded-Host": "a b/c" }))
      .toBe("http://internal:8080");
  });
});

import { afterEach, describe, expect, test } from "bun:test";
import { AccessControl, type AccessRequest } from "../../lib/auth/accessControl.ts";
import { ForbiddenError, UnauthorizedError } from "../../lib/errors.ts";
import { createLogger, silentLogger } from "../../lib/logger.ts";

const request = (overrides: Partial<AccessRequest> = {}): AccessRequest => ({
  action: "publish",
  stream: "cam",
  token: undefined,
  remoteAddr: "127.0.0.1",
  userAgent: "test",
  query: "",
  ...overrides,
});

const control = (options: Partial<ConstructorParameters<typeof AccessControl>[0]> = {}) =>
  new AccessControl({ publishTokens: [], playTokens: [], webhookTimeoutMs: 2000, logger: silentLogger, ...options });

/** A real auth webhook on loopback that answers with `status` (after `delayMs`) and records what it was asked. */
let hook: ReturnType<typeof Bun.serve> | undefined;
function webhook(status: number, delayMs = 0) {
  const asked: AccessRequest[] = [];
  hook = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      asked.push(await req.json());
      if (delayMs) await Bun.sleep(delayMs); // a slow webhook: the behaviour under test
      return new Response(null, { status });
    },
  });
  return { url: `http://127.0.0.1:${hook.port}/auth`, asked };
}
afterEach(async () => {
  await hook?.stop(true);
  hook = undefined;
});

describe("static tokens", () => {
  test("none set: anyone may publish and play", async () => {
    await control().check(request());
    await control().check(request({ action: "play" }));
  });

  test("publish tokens: none sent is 401 saying how to send one; a wrong one is 401 and marked refused; a right one passes", async () => {
    const access = control({ publishTokens: ["s3cret", "other"] });
    const missing = await access.check(request()).catch((e) => e);
    expect(missing).toBeInstanceOf(UnauthorizedError);
    expect(missing.message).toContain("Authorization: Bearer <token> or ?token=<token>");
    expect(missing.tokenRefused).toBe(false);
    const wrong = await access.check(request({ token: "s3cre" })).catch((e) => e);
    expect(wrong).toBeInstanceOf(UnauthorizedError);
    expect(wrong.tokenRefused).toBe(true);
    await access.check(request({ token: "other" }));
  });

  test("publish and play tokens are separate: a publish token does not play, play stays open without play tokens", async () => {
    const access = control({ publishTokens: ["pub"], playTokens: ["watch"] });
    expect(await access.check(request({ action: "play", token: "pub" })).catch((e) => e)).toBeInstanceOf(
      UnauthorizedError,
    );
    await access.check(request({ action: "play", token: "watch" }));
    await control({ publishTokens: ["pub"] }).check(request({ action: "play" }));
  });

  test("a denial is a warn log line that never holds the token", async () => {
    const lines: string[] = [];
    const access = control({ publishTokens: ["s3cret"], logger: createLogger("info", (l) => lines.push(l)) });
    await access.check(request({ token: "guessed-token" })).catch(() => {});
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: "warn",
      msg: "access denied",
      action: "publish",
      stream: "cam",
    });
    expect(lines[0]).not.toContain("guessed-token");
  });
});

describe("auth webhook", () => {
  test("is asked with action, stream, token, remote address, user agent and query; 2xx allows", async () => {
    const { url, asked } = webhook(204);
    const req = request({ action: "play", token: "t1", query: "token=t1&x=1" });
    await control({ webhookUrl: url }).check(req);
    expect(asked).toEqual([req]);
  });

  test("a 403 from it is 403 with a token, 401 without one", async () => {
    const { url } = webhook(403);
    const withToken = await control({ webhookUrl: url }).check(request({ token: "t" })).catch((e) => e);
    expect(withToken).toBeInstanceOf(ForbiddenError);
    expect(withToken.message).toBe('publishing to "cam" is denied by the auth webhook (403)');
    expect(await control({ webhookUrl: url }).check(request()).catch((e) => e)).toBeInstanceOf(UnauthorizedError);
  });

  test("no answer within AUTH_WEBHOOK_TIMEOUT_MS denies", async () => {
    const { url } = webhook(200, 1000);
    const started = performance.now();
    const error = await control({ webhookUrl: url, webhookTimeoutMs: 200 }).check(request({ token: "t" })).catch((e) =>
      e
    );
    expect(error).toBeInstanceOf(ForbiddenError);
    expect(error.message).toContain("no answer within 200 ms");
    expect(performance.now() - started).toBeLessThan(900);
  });

  test("an unreachable webhook denies", async () => {
    const { url } = webhook(200);
    await hook!.stop(true);
    const error = await control({ webhookUrl: url }).check(request({ token: "t" })).catch((e) => e);
    expect(error).toBeInstanceOf(ForbiddenError);
    expect(error.message).toContain("the auth webhook failed");
  });

  test("static tokens are checked first: a wrong token never reaches the webhook", async () => {
    const { url, asked } = webhook(200);
    const error = await control({ webhookUrl: url, publishTokens: ["right"] }).check(request({ token: "wrong" })).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(asked).toHaveLength(0);
  });
});

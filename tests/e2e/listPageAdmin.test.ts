import { afterAll, beforeAll, expect, test } from "bun:test";
import { launchChromium } from "../helpers/browser.ts";
import { ffmpegPush } from "../helpers/ffmpegPush.ts";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";

// With ADMIN_TOKEN set every /api route needs it, the list page's too: it asks for the token
// instead of showing an error, and lists the streams with it.

let server: TestServer;
let browser: Awaited<ReturnType<typeof launchChromium>>;

beforeAll(async () => {
  server = await startTestServer({ ADMIN_TOKEN: "admin-secret" }, { listen: true });
  browser = await launchChromium();
});

afterAll(async () => {
  try {
    await checkAndClose(server);
  } finally {
    await browser?.close();
  }
});

test("the list page asks for the admin token, then lists the live streams with their state", async () => {
  const push = ffmpegPush("av.mpegts", `${server.url}/ingest/guarded`);
  const page = await browser.context.newPage();
  try {
    await page.goto(server.url);
    await page.waitForSelector("#adminForm:not([hidden])");
    expect(await page.locator('a[href="/play/guarded"]').count()).toBe(0);
    await page.fill("#adminToken", "admin-secret");
    await page.click("#adminForm button");
    await page.waitForSelector('a[href="/play/guarded"]');
    expect(await page.locator("#adminForm").isHidden()).toBe(true);
    expect(await page.locator("#streams tr td:nth-child(2)").first().textContent()).toBe("live");
  } finally {
    await page.close();
    await push.stop();
  }
});

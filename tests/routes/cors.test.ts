import { afterEach, expect, test } from "bun:test";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";

let server: TestServer | undefined;
afterEach(async () => {
  await checkAndClose(server);
  server = undefined;
});

// A page on another origin (an embed, a dashboard) must be able to read every header Wisp answers with.
const WISP_HEADERS = [
  "Location",
  "ETag",
  "Link",
  "Accept-Patch",
  "Retry-After",
  "WWW-Authenticate",
  "Wisp-Request-Id",
  "Wisp-Playback-Url",
  "Wisp-Player-Url",
  "Lp-Trickle-Seq",
  "Lp-Trickle-Latest",
  "Lp-Trickle-Closed",
];

test("every header Wisp answers with is readable cross-origin", async () => {
  server = await startTestServer();
  const res = await server.app.request("/healthz", { headers: { Origin: "https://elsewhere.example" } });
  expect(res.headers.get("Access-Control-Allow-Origin")).toBe("*");
  const exposed = (res.headers.get("Access-Control-Expose-Headers") ?? "").split(",").map((h) => h.trim());
  for (const header of WISP_HEADERS) expect(exposed).toContain(header);
});

import { afterEach, expect, test } from "bun:test";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";

let server: TestServer | undefined;
afterEach(async () => {
  await checkAndClose(server);
  server = undefined;
});

test("the pages and the files they load are served with their types; an unknown file is 404", async () => {
  server = await startTestServer();
  for (
    const [path, type] of [
      ["/", "text/html"],
      ["/play/cam", "text/html"],
      ["/publish/cam", "text/html"],
      ["/player/playPage.js", "text/javascript"],
      ["/player/whepPlayer.js", "text/javascript"],
      ["/player/whepEvents.js", "text/javascript"],
      ["/player/playbackStats.js", "text/javascript"],
      ["/player/publishPage.js", "text/javascript"],
      ["/player/whipPublisher.js", "text/javascript"],
      ["/player/wisp.css", "text/css"],
    ]
  ) {
    const res = await server.app.request(path!);
    expect({ path, status: res.status, type: res.headers.get("Content-Type")?.split(";")[0] }).toEqual({
      path,
      status: 200,
      type,
    });
  }
  for (const page of ["/play/cam", "/publish/cam"]) {
    expect(await (await server.app.request(page)).text()).toContain('<link rel="stylesheet" href="/player/wisp.css">');
  }
  expect((await server.app.request("/player/nope.js")).status).toBe(404);
});

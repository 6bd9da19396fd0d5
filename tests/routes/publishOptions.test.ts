import { afterEach, expect, test } from "bun:test";
import { readFixture } from "../fixtures/readFixture.ts";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";
import { chromeLikeOffer } from "../webrtc/chromeOffer.ts";

let server: TestServer | undefined;
afterEach(async () => {
  await checkAndClose(server);
  server = undefined;
});

const PIPELINES = JSON.stringify({
  copy: { command: ["ffmpeg", "-i", "pipe:0", "-c", "copy", "-f", "mpegts", "pipe:1"] },
});

async function refusal(path: string, init: RequestInit): Promise<[number, string]> {
  const res = await server!.app.request(path, init);
  return [res.status, (await res.text()).trim()];
}

test("an unknown ?pipeline= or bad ?params= is a 400 saying what was wrong, on /ingest and /whip, and starts nothing", async () => {
  server = await startTestServer({ PIPELINES });
  const push: RequestInit = { method: "POST", body: Buffer.from(readFixture("av.mpegts")) };
  const offer = { method: "POST", headers: { "Content-Type": "application/sdp" }, body: chromeLikeOffer() };
  expect(await refusal("/ingest/cam?pipeline=nope", push)).toEqual([
    400,
    'unknown pipeline "nope": this server has passthrough, copy',
  ]);
  expect(await refusal("/whip/cam?pipeline=nope", offer)).toEqual([
    400,
    'unknown pipeline "nope": this server has passthrough, copy',
  ]);
  const [status, text] = await refusal(`/ingest/cam?pipeline=copy&params=${encodeURIComponent("{oops")}`, push);
  expect(status).toBe(400);
  expect(text).toStartWith("?params= is not JSON:");
  expect(await refusal(`/ingest/cam?params=${encodeURIComponent("[1,2]")}`, push)).toEqual([
    400,
    "?params= must be a JSON object, e.g. ?params=%7B%22prompt%22%3A%22sunset%22%7D",
  ]);
  expect(server.registry.list()).toEqual([]);
});

test("POST /api/streams/{name}/params: 404 for a stream that is not live, 400 for bad JSON, 409 for a pipeline without a control channel", async () => {
  server = await startTestServer({ ADMIN_TOKEN: "admin" });
  const headers = { Authorization: "Bearer admin", "Content-Type": "application/json" };
  expect(await refusal("/api/streams/cam/params", { method: "POST", headers, body: "{}" })).toEqual([
    404,
    'stream "cam" is not live',
  ]);
  const session = server.registry.startSession("cam");
  session.write(readFixture("av.mpegts"));
  expect((await refusal("/api/streams/cam/params", { method: "POST", headers, body: "{x" }))[0]).toBe(400);
  expect(await refusal("/api/streams/cam/params", { method: "POST", headers, body: '{"prompt":"a"}' })).toEqual([
    409,
    'pipeline "passthrough" (passthrough) takes no params while it runs; they are kept for its next attempt',
  ]);
  expect((await refusal("/api/streams/cam/params", { method: "POST", body: "{}" }))[0]).toBe(401);
  session.end("finished");
});

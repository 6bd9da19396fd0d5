import { afterEach, describe, expect, test } from "bun:test";
import { eventually } from "../helpers/eventually.ts";
import { ffmpegPush } from "../helpers/ffmpegPush.ts";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";
import { whepPlay, type WhepTestClient } from "../helpers/wheriftClient.ts";
import { Scrape } from "./scrape.ts";

let server: TestServer | undefined;
let push: ReturnType<typeof ffmpegPush> | undefined;
const clients: WhepTestClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await push?.stop();
  push = undefined;
  await checkAndClose(server);
  server = undefined;
});

async function scrape(s: TestServer, headers: Record<string, string> = {}): Promise<Scrape> {
  const response = await fetch(`${s.url}/metrics`, { headers });
  expect(response.status).toBe(200);
  expect(response.headers.get("Content-Type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  return Scrape.parse(await response.text());
}

async function play(s: TestServer): Promise<WhepTestClient> {
  const client = await whepPlay(`${s.url}/whep/cam`);
  clients.push(client);
  expect(client.response.status).toBe(201);
  await client.until(() => client.video.length > 10 && client.audio.length > 5);
  return client;
}

describe("GET /metrics: Prometheus text format", () => {
  test("an ffmpeg push and two werift viewers: the figures match what happened, and the stream's series leave with it", async () => {
    server = await startTestServer({ WHEP_MAX_VIEWERS: "0" }, { listen: true });
    push = ffmpegPush("av.mpegts", `${server.url}/ingest/cam`);
    const first = await play(server);
    await play(server);
    const cam = { stream: "cam" };

    const live = await scrape(server);
    expect(live.value("wisp_stream_viewers", cam)).toBe(2);
    expect(live.value("wisp_viewers")).toBe(2);
    expect(live.value("wisp_streams")).toBe(1);
    expect(live.value("wisp_stream_bytes_in_total", cam)).toBeGreaterThan(0);
    expect(live.value("wisp_stream_bitrate_in_bits_per_second", cam)).toBeGreaterThan(0);
    expect(live.value("wisp_stream_rtp_packets_total", cam)).toBeGreaterThan(0);
    expect(live.value("wisp_stream_bytes_out_total", cam)).toBeGreaterThan(0);
    expect(live.value("wisp_stream_packets_out_total", cam)).toBeGreaterThan(first.video.length);
    expect(live.value("wisp_stream_frames_out_total", cam)).toBeGreaterThan(0);
    expect(live.value("wisp_stream_keyframe_requests_total", { ...cam, type: "pli" })).toBeGreaterThanOrEqual(0);
    expect(live.value("wisp_viewers_joined_total")).toBe(2);
    expect(live.value("wisp_streams_started_total")).toBe(1);
    expect(live.count("wisp_viewer_time_to_first_packet_seconds")).toBe(2);
    expect(live.value("wisp_http_requests_total", { method: "POST", route: "/whep/:stream", status: "201" })).toBe(2);
    expect(live.value("wisp_udp_datagrams_sent_total")).toBeGreaterThan(0);
    expect(live.value("process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(live.value("process_cpu_seconds_total")).toBeGreaterThan(0);
    expect(live.count("wisp_event_loop_delay_seconds")).toBeGreaterThan(0);
    expect(live.family("wisp_stream_bytes_out_total")?.type).toBe("COUNTER");
    expect(live.family("wisp_viewer_session_seconds")?.type).toBe("HISTOGRAM");

    // Route patterns, not paths: a 404 counts under the route that answered, or as unmatched.
    expect((await fetch(`${server.url}/api/streams/nope`)).status).toBe(404);
    expect((await fetch(`${server.url}/no/such/thing?x=1`)).status).toBe(404);
    // The player's own report: its time to first frame and its stalls.
    const report = await fetch(`${server.url}${first.location}/report`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ timeToFirstFrameMs: 420, stalls: 1, stalledMs: 250 }),
    });
    expect(report.status).toBe(204);
    const reported = await scrape(server);
    expect(reported.value("wisp_http_requests_total", { route: "/api/streams/:stream", status: "404" })).toBe(1);
    expect(reported.value("wisp_http_requests_total", { route: "unmatched", status: "404" })).toBe(1);
    expect(reported.value("wisp_http_requests_total", { route: "/metrics", status: "200" })).toBe(1);
    const routes = new Set(reported.samples("wisp_http_requests_total").map((s) => s.labels?.route ?? ""));
    expect([...routes].some((route) => route.includes("nope") || route.includes("such"))).toBe(false);
    expect(reported.count("wisp_viewer_time_to_first_frame_seconds")).toBe(1);
    expect(Number(reported.samples("wisp_viewer_time_to_first_frame_seconds")[0]!.sum)).toBeCloseTo(0.42, 6);
    expect(reported.value("wisp_stream_player_stalls_total", cam)).toBe(1);
    expect(reported.value("wisp_stream_player_stalled_seconds_total", cam)).toBeCloseTo(0.25, 6);

    // A viewer leaves: it is no longer counted live, and what it was sent stays in the stream's totals.
    expect((await fetch(`${server.url}${first.location}`, { method: "DELETE" })).status).toBe(200);
    const oneLeft = await scrape(server);
    expect(oneLeft.value("wisp_stream_viewers", cam)).toBe(1);
    expect(oneLeft.value("wisp_viewers_left_total")).toBe(1);
    expect(oneLeft.count("wisp_viewer_session_seconds")).toBe(1);
    expect(oneLeft.value("wisp_stream_bytes_out_total", cam)).toBeGreaterThanOrEqual(
      reported.value("wisp_stream_bytes_out_total", cam)!,
    );
    expect(oneLeft.value("wisp_stream_player_stalls_total", cam)).toBe(1);

    // The push ends: every series labelled with the stream goes; the counters of what happened stay.
    await push.stop();
    push = undefined;
    await eventually(() => server!.registry.list().length === 0 && server!.viewers.size === 0, "the stream to end");
    const ended = await scrape(server);
    const stale = ended.families.flatMap((f) => f.metrics.filter((m) => m.labels?.stream === "cam").map(() => f.name));
    expect(stale).toEqual([]);
    expect(ended.value("wisp_streams")).toBe(0);
    expect(ended.value("wisp_streams_ended_total", { reason: "finished" })).toBe(1);
    expect(ended.value("wisp_viewers_left_total")).toBe(2);
  });

  test("METRICS_TOKEN: a Bearer token is needed (not in the query); the API is not affected", async () => {
    server = await startTestServer({ METRICS_TOKEN: "s3cret" });
    const none = await server.app.request("/metrics");
    expect(none.status).toBe(401);
    expect(none.headers.get("WWW-Authenticate")).toBe('Bearer realm="wisp"');
    expect(await none.text()).toContain("/metrics needs a token: send Authorization: Bearer <token>");
    expect((await server.app.request("/metrics?token=s3cret")).status).toBe(401);
    const wrong = await server.app.request("/metrics", { headers: { Authorization: "Bearer s3cre" } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("WWW-Authenticate")).toBe('Bearer realm="wisp", error="invalid_token"');
    const right = await server.app.request("/metrics", { headers: { Authorization: "Bearer s3cret" } });
    expect(right.status).toBe(200);
    const scraped = Scrape.parse(await right.text());
    expect(scraped.value("wisp_http_requests_total", { route: "/metrics", status: "401" })).toBe(3);
    expect((await server.app.request("/api/streams")).status).toBe(200);
    expect((await server.app.request("/metrics", { method: "POST" })).status).toBe(405);
  });
});

import { readFileSync } from "node:fs";
import { Hono } from "hono";
import type { AppContext } from "./context.ts";
import { allowOnly } from "./methods.ts";

function asset(name: string): string {
  return readFileSync(new URL(`./player/${name}`, import.meta.url), "utf8");
}

// Plain files, no build step; read once at start-up.
const INDEX_HTML = asset("index.html");
const PLAY_HTML = asset("play.html");
const PUBLISH_HTML = asset("publish.html");
const SCRIPTS = [
  "playPage.js", // the player page: its controls and overlay around a WhepPlayer
  "whepPlayer.js", // the WHEP client (also used by the benchmarks' pages)
  "whepEvents.js", // WHEP server-sent events, the player's side
  "playbackStats.js", // getStats() figures for the overlay and the viewer's report
  "publishPage.js", // the publish page: capture choices, errors, OBS and ffmpeg settings
  "whipPublisher.js", // the WHIP client
];
/** The pages' scripts and their shared stylesheet, by name, with their Content-Type. */
const FILES: Record<string, { body: string; type: string }> = {
  ...Object.fromEntries(SCRIPTS.map((name) => [name, { body: asset(name), type: "text/javascript; charset=utf-8" }])),
  "wisp.css": { body: asset("wisp.css"), type: "text/css; charset=utf-8" },
};

/** GET / lists the live streams; /play/{stream} plays one over WHEP; /publish/{stream} sends a camera or a screen over WHIP. */
export function playerRoutes(_ctx: AppContext): Hono {
  const app = new Hono();
  app.get("/", (c) => c.html(INDEX_HTML));
  app.get("/play/:stream", (c) => c.html(PLAY_HTML));
  app.get("/publish/:stream", (c) => c.html(PUBLISH_HTML));
  app.get("/player/:file", (c) => {
    const file = FILES[c.req.param("file")];
    if (!file) return c.notFound();
    c.header("Content-Type", file.type);
    return c.body(file.body);
  });
  allowOnly(app, "/", ["GET", "HEAD"]);
  allowOnly(app, "/play/:stream", ["GET", "HEAD"]);
  allowOnly(app, "/publish/:stream", ["GET", "HEAD"]);
  allowOnly(app, "/player/:file", ["GET", "HEAD"]);
  return app;
}

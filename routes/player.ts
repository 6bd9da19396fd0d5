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
const SCRIPTS: Record<string, string> = {
  "whepPlayer.js": asset("whepPlayer.js"),
  "whipPublisher.js": asset("whipPublisher.js"),
};

/** GET / lists the live streams; /play/{stream} plays one over WHEP; /publish/{stream} sends a camera over WHIP. */
export function playerRoutes(_ctx: AppContext): Hono {
  const app = new Hono();
  app.get("/", (c) => c.html(INDEX_HTML));
  app.get("/play/:stream", (c) => c.html(PLAY_HTML));
  app.get("/publish/:stream", (c) => c.html(PUBLISH_HTML));
  app.get("/player/:script", (c) => {
    const script = SCRIPTS[c.req.param("script")];
    if (!script) return c.notFound();
    c.header("Content-Type", "text/javascript; charset=utf-8");
    return c.body(script);
  });
  allowOnly(app, "/", ["GET", "HEAD"]);
  allowOnly(app, "/play/:stream", ["GET", "HEAD"]);
  allowOnly(app, "/publish/:stream", ["GET", "HEAD"]);
  allowOnly(app, "/player/:script", ["GET", "HEAD"]);
  return app;
}

import { readFileSync } from "node:fs";
import { Hono } from "hono";
import type { AppContext } from "./context.ts";

function asset(name: string): string {
  return readFileSync(new URL(`./player/${name}`, import.meta.url), "utf8");
}

// Plain files, no build step; read once at start-up.
const INDEX_HTML = asset("index.html");
const PLAY_HTML = asset("play.html");
const WHEP_PLAYER_JS = asset("whepPlayer.js");

/** GET / lists the live streams; GET /play/{stream} plays one over WHEP. */
export function playerRoutes(_ctx: AppContext): Hono {
  const app = new Hono();
  app.get("/", (c) => c.html(INDEX_HTML));
  app.get("/play/:stream", (c) => c.html(PLAY_HTML));
  app.get("/player/whepPlayer.js", (c) => {
    c.header("Content-Type", "text/javascript; charset=utf-8");
    return c.body(WHEP_PLAYER_JS);
  });
  return app;
}

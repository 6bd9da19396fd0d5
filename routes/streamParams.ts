import { Hono } from "hono";
import { NotFoundError, StaleSessionError } from "../lib/errors.ts";
import { parseJsonObject } from "../lib/jsonObject.ts";
import type { AppContext } from "./context.ts";
import { allowOnly } from "./methods.ts";

/**
 * POST /api/streams/{name}/params: JSON params for the stream's running
 * pipeline (a runner's worker gets them on its control channel), kept for
 * its later attempts too. A write: under ADMIN_TOKEN like every /api write.
 */
export function streamParamsRoutes(ctx: AppContext): Hono {
  const app = new Hono();
  app.post("/:stream/params", async (c) => {
    const name = c.req.param("stream");
    const pipeline = ctx.registry.stream(name)?.pipeline;
    if (!pipeline) throw new NotFoundError(`stream "${name}" is not live`);
    const params = parseJsonObject(await c.req.text(), "the params", '{"prompt": "sunset"}');
    if (!pipeline.updateParams(params)) {
      throw new StaleSessionError(
        `pipeline "${pipeline.definition.name}" (${pipeline.definition.kind}) takes no params while it runs; they are kept for its next attempt`,
      );
    }
    return c.json({ stream: name, pipeline: pipeline.definition.name, attempt: pipeline.attempt, params });
  });
  allowOnly(app, "/:stream/params", ["POST"]);
  return app;
}

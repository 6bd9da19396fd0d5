import { Hono } from "hono";
import { BadRequestError, NotFoundError, StaleSessionError } from "../lib/errors.ts";
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
    const params = await jsonObject(c.req.raw);
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

async function jsonObject(request: Request): Promise<Record<string, unknown>> {
  let value: unknown;
  try {
    value = JSON.parse(await request.text());
  } catch (error) {
    throw new BadRequestError(`the params are not JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new BadRequestError('the params must be a JSON object, e.g. {"prompt": "sunset"}');
  }
  return value as Record<string, unknown>;
}

import type { Context } from "hono";
import { BadRequestError } from "../lib/errors.ts";
import { parseJsonObject } from "../lib/jsonObject.ts";
import type { PublishOptions } from "../lib/liveStream.ts";
import type { AppContext } from "./context.ts";

/**
 * A publish's pipeline and initial params, from `?pipeline=NAME` (else
 * DEFAULT_PIPELINE) and `?params=<URL-encoded JSON object>`, on /ingest and
 * /whip alike. An unknown name or bad params are 400 with what was wrong.
 */
export function publishOptionsOf(c: Context, ctx: AppContext): PublishOptions {
  const name = c.req.query("pipeline") ?? ctx.config.defaultPipeline;
  const pipeline = ctx.pipelines.get(name);
  if (!pipeline) {
    const known = [...ctx.pipelines.keys()].join(", ");
    throw new BadRequestError(`unknown pipeline ${JSON.stringify(name)}: this server has ${known}`);
  }
  return { pipeline, params: paramsOf(c.req.query("params")) };
}

function paramsOf(raw: string | undefined): Record<string, unknown> {
  if (raw === undefined || raw === "") return {};
  return parseJsonObject(raw, "?params=", "?params=%7B%22prompt%22%3A%22sunset%22%7D");
}

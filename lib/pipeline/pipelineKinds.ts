import type { Config } from "../config.ts";
import { commandPipeline } from "./commandPipeline.ts";
import type { PipelineDefinition } from "./livePipeline.ts";
import { startPassthrough } from "./passthroughAttempt.ts";
import type { PipelineSpec } from "./pipelineConfig.ts";

/** What the runner kind needs from the server (its trickle channels); absent, runner specs cannot start. */
export interface PipelineServices {
  runner?: (spec: Extract<PipelineSpec, { kind: "runner" }>) => PipelineDefinition["start"];
}

/** The configured pipelines (PIPELINES), each ready to start attempts, by name. */
export function pipelineDefinitions(
  config: Pick<Readonly<Config>, "pipelines" | "pipelineInputQueueBytes">,
  services: PipelineServices = {},
): ReadonlyMap<string, PipelineDefinition> {
  const definitions = new Map<string, PipelineDefinition>();
  for (const [name, spec] of config.pipelines) definitions.set(name, define(name, spec, config, services));
  return definitions;
}

function define(
  name: string,
  spec: PipelineSpec,
  config: Pick<Readonly<Config>, "pipelineInputQueueBytes">,
  services: PipelineServices,
): PipelineDefinition {
  switch (spec.kind) {
    case "passthrough":
      return { name, kind: "passthrough", onFailure: "passthrough", start: startPassthrough };
    case "command": {
      const start = commandPipeline(spec.command, { inputQueueBytes: config.pipelineInputQueueBytes });
      return { name, kind: "command", onFailure: spec.onFailure, start };
    }
    case "runner": {
      if (!services.runner) throw new Error(`pipeline "${name}" is a runner, and this server has no trickle channels`);
      return { name, kind: "runner", onFailure: spec.onFailure, start: services.runner(spec) };
    }
  }
}

import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfig } from "../../lib/config.ts";
import { parsePipelines, PipelineConfigError } from "../../lib/pipeline/pipelineConfig.ts";

const OPUS = ["ffmpeg", "-i", "pipe:0", "-c:v", "copy", "-c:a", "libopus", "-f", "mpegts", "pipe:1"];

describe("parsePipelines", () => {
  test("no text: only passthrough", () => {
    expect([...parsePipelines("").entries()]).toEqual([["passthrough", { kind: "passthrough" }]]);
    expect([...parsePipelines("  \n").keys()]).toEqual(["passthrough"]);
  });

  test("every kind, with defaults filled in and the runner URL's trailing slash dropped", () => {
    const pipelines = parsePipelines(JSON.stringify({
      opus: { command: OPUS },
      strict: { command: ["cat"], onFailure: "end" },
      copy: "passthrough",
      ai: { runner: "http://127.0.0.1:8000/", token: "secret", modelId: "noop", params: { prompt: "x" } },
      bare: { runner: "https://runner.example" },
    }));
    expect(Object.fromEntries(pipelines)).toEqual({
      passthrough: { kind: "passthrough" },
      opus: { kind: "command", command: OPUS, onFailure: "passthrough" },
      strict: { kind: "command", command: ["cat"], onFailure: "end" },
      copy: { kind: "passthrough" },
      ai: {
        kind: "runner",
        runner: "http://127.0.0.1:8000",
        token: "secret",
        modelId: "noop",
        params: { prompt: "x" },
        onFailure: "passthrough",
      },
      bare: {
        kind: "runner",
        runner: "https://runner.example",
        token: undefined,
        modelId: undefined,
        params: {},
        onFailure: "passthrough",
      },
    });
    expect(Object.isFrozen(pipelines.get("opus"))).toBe(true);
    const opus = pipelines.get("opus");
    expect(opus?.kind === "command" && Object.isFrozen(opus.command)).toBe(true);
  });

  test.each([
    ["not JSON", "{opus:", /^is not JSON/],
    ["an array", "[]", /must be a JSON object/],
    ["a bad name", `{"a b": "passthrough"}`, /^pipeline "a b": a name is/],
    ["a name in ?pipeline= that would need escaping", `{"x/y": "passthrough"}`, /^pipeline "x\/y"/],
    ["an unknown string kind", `{"x": "copy"}`, /^pipeline "x": must be "passthrough"/],
    ["neither kind", `{"x": {"onFailure": "end"}}`, /^pipeline "x": has neither "command" nor "runner"/],
    ["both kinds", `{"x": {"command": ["cat"], "runner": "http://h"}}`, /^pipeline "x": has both/],
    ["an empty argv", `{"x": {"command": []}}`, /^pipeline "x": "command" must be a non-empty array of strings/],
    ["a shell string", `{"x": {"command": "ffmpeg -i pipe:0"}}`, /^pipeline "x": "command" must be a non-empty array/],
    ["a number in argv", `{"x": {"command": ["sleep", 1]}}`, /^pipeline "x": "command" must be/],
    ["an empty program", `{"x": {"command": [""]}}`, /^pipeline "x": "command" must start with a program name/],
    ["a typo", `{"x": {"command": ["cat"], "onfailure": "end"}}`, /^pipeline "x": unknown key "onfailure"/],
    ["a bad onFailure", `{"x": {"command": ["cat"], "onFailure": "retry"}}`, /^pipeline "x": "onFailure" must be/],
    ["a runner that is no URL", `{"x": {"runner": "localhost:8000"}}`, /^pipeline "x": "runner" must be an http/],
    ["a runner over ftp", `{"x": {"runner": "ftp://h"}}`, /^pipeline "x": "runner" must be an http/],
    ["params that are no object", `{"x": {"runner": "http://h", "params": [1]}}`, /^pipeline "x": "params" must be/],
    ["an empty token", `{"x": {"runner": "http://h", "token": ""}}`, /^pipeline "x": "token" must be a non-empty/],
    ["a command key on a runner", `{"x": {"runner": "http://h", "command": 1}}`, /^pipeline "x": has both/],
    ["passthrough redefined", `{"passthrough": {"command": ["cat"]}}`, /^pipeline "passthrough" is built in/],
  ])("refuses %s, naming the pipeline", (_, text, message) => {
    expect(() => parsePipelines(text)).toThrow(PipelineConfigError);
    expect(() => parsePipelines(text)).toThrow(message);
  });
});

describe("loadConfig: PIPELINES, PIPELINES_FILE, DEFAULT_PIPELINE, PIPELINE_INPUT_QUEUE_BYTES", () => {
  test("defaults: passthrough only, the default pipeline, a 2 MB input queue", () => {
    const config = loadConfig({});
    expect([...config.pipelines.keys()]).toEqual(["passthrough"]);
    expect(config.defaultPipeline).toBe("passthrough");
    expect(config.pipelineInputQueueBytes).toBe(2_000_000);
  });

  test("PIPELINES and DEFAULT_PIPELINE", () => {
    const config = loadConfig({ PIPELINES: JSON.stringify({ opus: { command: OPUS } }), DEFAULT_PIPELINE: "opus" });
    expect(config.pipelines.get("opus")).toEqual({ kind: "command", command: OPUS, onFailure: "passthrough" });
    expect(config.defaultPipeline).toBe("opus");
  });

  test("a bad spec stops start-up naming the variable and the pipeline", () => {
    const env = { PIPELINES: `{"opus": {"command": "ffmpeg"}}` };
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(/^PIPELINES: pipeline "opus": "command" must be/);
  });

  test("DEFAULT_PIPELINE must name a defined pipeline", () => {
    expect(() => loadConfig({ DEFAULT_PIPELINE: "opus" })).toThrow(
      'DEFAULT_PIPELINE="opus" names no pipeline; defined: passthrough',
    );
  });

  test("PIPELINES_FILE is read; errors name the file; PIPELINES and PIPELINES_FILE together are refused", () => {
    const dir = mkdtempSync(join(tmpdir(), "wisp-pipelines-"));
    try {
      const file = join(dir, "pipelines.json");
      writeFileSync(file, JSON.stringify({ copy: { command: ["cat"] } }));
      expect([...loadConfig({ PIPELINES_FILE: file }).pipelines.keys()]).toEqual(["passthrough", "copy"]);
      expect(() => loadConfig({ PIPELINES_FILE: file, PIPELINES: "{}" })).toThrow(
        "PIPELINES and PIPELINES_FILE are both set; set one",
      );
      writeFileSync(file, `{"copy": {"command": []}}`);
      expect(() => loadConfig({ PIPELINES_FILE: file })).toThrow(`PIPELINES_FILE (${file}): pipeline "copy"`);
      const missing = join(dir, "missing.json");
      expect(() => loadConfig({ PIPELINES_FILE: missing })).toThrow(`PIPELINES_FILE (${missing}): cannot be read`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.each(["0", "9999", "lots"])("PIPELINE_INPUT_QUEUE_BYTES=%s is refused", (value) => {
    expect(() => loadConfig({ PIPELINE_INPUT_QUEUE_BYTES: value })).toThrow(/^PIPELINE_INPUT_QUEUE_BYTES=/);
  });
});

import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../../lib/config.ts";
import { trickleBaseUrl } from "../../lib/pipeline/runnerPipeline.ts";

describe("trickle and runner configuration", () => {
  test("defaults: go-livepeer-sized bounds, the worker on this machine", () => {
    expect(loadConfig({})).toMatchObject({
      tricklePublicUrl: undefined,
      trickleMaxSegmentBytes: 33_554_432,
      trickleFirstByteTimeoutMs: 60_000,
      trickleMaxChannels: 400,
      trickleMaxRequestsPerChannel: 16,
      runnerStartTimeoutMs: 15_000,
    });
    expect(trickleBaseUrl(undefined, 8080)).toBe("http://127.0.0.1:8080");
  });

  test("TRICKLE_PUBLIC_URL: an http(s) base URL, its trailing slash dropped", () => {
    const config = loadConfig({ TRICKLE_PUBLIC_URL: "https://wisp.example:8443/" });
    expect(config.tricklePublicUrl).toBe("https://wisp.example:8443");
    expect(trickleBaseUrl(config.tricklePublicUrl, 8080)).toBe("https://wisp.example:8443");
  });

  test.each([
    ["TRICKLE_PUBLIC_URL", "wisp.example:8080"],
    ["TRICKLE_MAX_SEGMENT_BYTES", "10"],
    // A waiting GET must end before Bun's 255 s cap on a request's idle timeout.
    ["TRICKLE_FIRST_BYTE_TIMEOUT_MS", "300000"],
    ["TRICKLE_MAX_CHANNELS", "3"],
    ["TRICKLE_MAX_REQUESTS_PER_CHANNEL", "1"],
    ["RUNNER_START_TIMEOUT_MS", "soon"],
  ])("%s=%s fails naming the variable", (key, value) => {
    expect(() => loadConfig({ [key]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [key]: value })).toThrow(new RegExp(`^${key}=`));
  });
});

import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { CONFIG_KEYS, ConfigError, loadConfig } from "../lib/config.ts";

describe("loadConfig", () => {
  test("defaults", () => {
    const config = loadConfig({});
    expect(config.port).toBe(8080);
    expect(config.maxViewersPerStream).toBe(5);
    expect(Object.isFrozen(config)).toBe(true);
  });

  test("reads values and allows unlimited viewers", () => {
    const config = loadConfig({ PORT: "9000", WHEP_MAX_VIEWERS: "0", LOG_LEVEL: "debug" });
    expect(config).toMatchObject({ port: 9000, maxViewersPerStream: 0, logLevel: "debug" });
  });

  test.each([
    ["PORT", "80a"],
    ["PORT", "70000"],
    ["WHEP_MAX_VIEWERS", "-1"],
    ["WHEP_WAIT_TIMEOUT_MS", "soon"],
    ["LOG_LEVEL", "loud"],
  ])("%s=%s fails naming the variable", (key, value) => {
    expect(() => loadConfig({ [key]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [key]: value })).toThrow(new RegExp(`^${key}=`));
  });

  test("the README's configuration table lists every key with its default", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    for (const key of CONFIG_KEYS) {
      const shownDefault = key.defaultValue === "" ? "\\(none\\)" : `\`${key.defaultValue}\``;
      expect(readme).toMatch(new RegExp(`\\| \`${key.env}\` \\| ${shownDefault} \\|`));
    }
  });
});

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
    ["AUTH_WEBHOOK_URL", "ftp://auth.example"],
    ["INGEST_IDLE_TIMEOUT_MS", "10"],
    ["MAX_BODY_BYTES", "big"],
    ["MAX_STREAMS", "0"],
    ["DRAIN_TIMEOUT_MS", "-5"],
    ["WEBHOOK_URL", "hooks.example/wisp"],
    ["WEBHOOK_QUEUE_SIZE", "0"],
    ["WEBHOOK_MAX_ATTEMPTS", "100"],
  ])("%s=%s fails naming the variable", (key, value) => {
    expect(() => loadConfig({ [key]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [key]: value })).toThrow(new RegExp(`^${key}=`));
  });

  test("limits and auth: safe defaults; WHIP_TOKENS is read as PUBLISH_TOKENS", () => {
    expect(loadConfig({})).toMatchObject({
      publishTokens: [],
      playTokens: [],
      authWebhookUrl: undefined,
      authWebhookTimeoutMs: 2000,
      ingestIdleTimeoutMs: 30_000,
      ingestProbeBytes: 1_048_576,
      maxBodyBytes: 65_536,
      maxOfferMedia: 16,
      maxStreams: 100,
      connectTimeoutMs: 10_000,
      drainTimeoutMs: 30_000,
    });
    expect(loadConfig({ WHIP_TOKENS: "a, b" }).publishTokens).toEqual(["a", "b"]);
    expect(() => loadConfig({ WHIP_TOKENS: "a", PUBLISH_TOKENS: "b" })).toThrow(
      "PUBLISH_TOKENS and WHIP_TOKENS are set to different values",
    );
  });

  test("the README's configuration table lists every key with its default", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    for (const key of CONFIG_KEYS) {
      const shownDefault = key.defaultValue === "" ? "\\(none\\)" : `\`${key.defaultValue}\``;
      expect(readme).toMatch(new RegExp(`\\| \`${key.env}\` \\| ${shownDefault} \\|`));
    }
  });
});

describe("WebRTC configuration", () => {
  test("defaults: one UDP port on all addresses, the same number as PORT; no public IP, no ICE servers", () => {
    const config = loadConfig({});
    expect(config.udpMux).toEqual({ host: "0.0.0.0", port: 8080 });
    expect(loadConfig({ PORT: "8081" }).udpMux).toEqual({ host: "0.0.0.0", port: 8081 }); // a second server: no clash
    expect(config.publicIps).toEqual([]);
    expect(config.iceServers).toEqual([]);
  });

  test("go-livepeer names are accepted", () => {
    const config = loadConfig({
      LIVE_AI_WHEP_ADDR: ":7000",
      LIVE_AI_NAT_IP: "203.0.113.7",
      LIVE_AI_WHEP_MAX_SESSIONS: "9",
    });
    expect(config.udpMux).toEqual({ host: "0.0.0.0", port: 7000 });
    expect(config.publicIps).toEqual(["203.0.113.7"]);
    expect(config.maxViewersPerStream).toBe(9);
  });

  test("two names with different values fail naming both", () => {
    expect(() => loadConfig({ LIVE_AI_WHEP_ADDR: ":7000", LIVE_AI_WHIP_ADDR: ":7001" })).toThrow(
      /LIVE_AI_WHEP_ADDR and LIVE_AI_WHIP_ADDR are set to different values/,
    );
  });

  test.each([
    [{ WEBRTC_UDP_ADDR: "8080" }, /WEBRTC_UDP_ADDR="8080" must be host:port/],
    [{ WEBRTC_PUBLIC_IPS: "example.com" }, /WEBRTC_PUBLIC_IPS: "example.com" is not an IPv4 address/],
    [{ WEBRTC_PUBLIC_IPS: "1.2.3.999" }, /not an IPv4 address/],
    [{ ICE_SERVERS: "http://x" }, /ICE_SERVERS: "http:\/\/x" is not a stun:/],
    [{ WEBRTC_ANNOUNCE: "both" }, /WEBRTC_ANNOUNCE="both" must be one of replace, add/],
  ])("%p fails with a message naming the variable", (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  test("off gives every connection its own socket; TURN servers get the credentials", () => {
    const config = loadConfig({
      WEBRTC_UDP_ADDR: "off",
      ICE_SERVERS: "stun:stun.example.org:3478, turn:turn.example.org:3478?transport=udp",
      ICE_USERNAME: "u",
      ICE_CREDENTIAL: "p",
    });
    expect(config.udpMux).toBeUndefined();
    expect(config.iceServers).toEqual([
      { urls: "stun:stun.example.org:3478" },
      { urls: "turn:turn.example.org:3478?transport=udp", username: "u", credential: "p" },
    ]);
  });
});

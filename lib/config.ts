/**
 * The only place that reads the environment. Every key is validated, typed and
 * frozen; a bad value fails at startup with a message naming the variable.
 * The README's configuration table documents each key (tests/config.test.ts
 * checks that the two agree).
 */
import { readFileSync } from "node:fs";
import {
  checkDefaultPipeline,
  parsePipelines,
  PipelineConfigError,
  type PipelineSpec,
} from "./pipeline/pipelineConfig.ts";
import type { PipelineLimits } from "./pipeline/livePipeline.ts";

export interface Config {
  /** HTTP listen port. */
  port: number;
  /** HTTP listen address. */
  host: string;
  /** Most concurrent WHEP viewers per stream name; 0 = unlimited. */
  maxViewersPerStream: number;
  /** How long a WHEP POST waits for a stream that has no output yet, in ms. */
  whepWaitTimeoutMs: number;
  /** Bytes a viewer's queue (lib/pipeline/viewerFeed.ts), fast-start GOP included, may hold before it skips to the next keyframe. */
  viewerQueueBytes: number;
  /** Tokens accepted for publishing (/ingest, /whip); empty = anyone may publish. */
  publishTokens: readonly string[];
  /** Tokens accepted for playing (WHEP); empty = anyone may play. */
  playTokens: readonly string[];
  /** Asked on every publish and play when set (lib/auth/accessControl.ts). */
  authWebhookUrl: string | undefined;
  /** How long the auth webhook has to answer before the request is denied, in ms. */
  authWebhookTimeoutMs: number;
  /** Time since the last byte after which an MPEG-TS push is ended, in ms. */
  ingestIdleTimeoutMs: number;
  /** A push whose first this-many bytes hold no MPEG-TS program (PAT + PMT) is refused. */
  ingestProbeBytes: number;
  /** A push that has shown no MPEG-TS program (PAT + PMT) after this long is refused, in ms. */
  ingestProbeTimeoutMs: number;
  /** Largest signalling body (SDP offer, trickle fragment, API JSON) in bytes. */
  maxBodyBytes: number;
  /** How long a signalling body may take to arrive, in ms (a slow sender is refused). */
  bodyTimeoutMs: number;
  /** Most media sections (m= lines) in one offer. */
  maxOfferMedia: number;
  /** Most live streams (ingest sessions) at once. */
  maxStreams: number;
  /** Most WHEP POSTs waiting for one stream that has no output yet. */
  maxWaitingPerStream: number;
  /** Most WHEP POSTs waiting for streams without output, all streams together. */
  maxWaiting: number;
  /** An answered WebRTC session that has not connected (ICE + DTLS) by then is closed, in ms. */
  connectTimeoutMs: number;
  /** On SIGTERM, how long live viewers and publishers are still served before they are ended, in ms. */
  drainTimeoutMs: number;
  /** How often a WHIP publisher is asked for a keyframe (PLI), in ms; 0 = only on loss and new viewers. */
  whipKeyframeIntervalMs: number;
  /** The one UDP socket for all WebRTC media (ICE UDP mux); undefined = a socket per connection. */
  udpMux: { host: string; port: number } | undefined;
  /** Public IPv4 addresses announced as host candidates (1:1 NAT, e.g. fly.io's dedicated IPv4). */
  publicIps: readonly string[];
  /** "replace": candidates only on the announced / bound address; "add": besides the interface addresses. */
  announceMode: "replace" | "add";
  /** STUN/TURN servers for werift and for clients (Link rel="ice-server"). */
  iceServers: readonly IceServer[];
  /** "on": viewers leave werift once connected (lib/webrtc/viewerLink.ts); "off": werift to the end (the one escape hatch). */
  handOver: "on" | "off";
  /** Named pipelines (PIPELINES or PIPELINES_FILE), "passthrough" always among them. */
  pipelines: ReadonlyMap<string, PipelineSpec>;
  /** The pipeline of a publish without ?pipeline= (a name in `pipelines`). */
  defaultPipeline: string;
  /** Input bytes a command pipeline holds while its process does not read, before skipping to the next keyframe. */
  pipelineInputQueueBytes: number;
  /** The pipeline watchdogs and swap budget (lib/pipeline/livePipeline.ts). */
  pipelineLimits: PipelineLimits;
  /** How long a stream and its viewers wait for a publisher that left to come back, in ms; 0 = end at once. */
  reconnectGraceMs: number;
  /** When set, GET /metrics needs it as a Bearer token. */
  metricsToken: string | undefined;
  /** When set, every /api route needs it as a Bearer token; unset: reads are open and writes refused. */
  adminToken: string | undefined;
  /** Where stream and viewer events are POSTed (lib/events/webhookSender.ts); undefined = none. */
  webhookUrl: string | undefined;
  /** Signs each webhook body (HMAC-SHA256, `Wisp-Signature`); undefined = unsigned. */
  webhookSecret: string | undefined;
  /** Most webhook events waiting to be sent; the oldest is dropped (and counted) beyond it. */
  webhookQueueSize: number;
  /** How long one webhook delivery attempt may take, in ms. */
  webhookTimeoutMs: number;
  /** Attempts per webhook event, the first included. */
  webhookMaxAttempts: number;
  /** Wait before the first webhook retry, in ms; doubled for each further one. */
  webhookRetryBackoffMs: number;
  /** Base URL a runner pipeline's worker reaches Wisp's trickle channels at; undefined = http://127.0.0.1:{the listening port}. */
  tricklePublicUrl: string | undefined;
  /** Largest trickle segment a POST may write, in bytes. */
  trickleMaxSegmentBytes: number;
  /** How long a trickle request may move no byte (a preconnected GET or POST waiting for its first byte, a stalled body), in ms. */
  trickleFirstByteTimeoutMs: number;
  /** Most trickle channels at once (four per runner pipeline attempt). */
  trickleMaxChannels: number;
  /** Most HTTP requests on one trickle channel at once. */
  trickleMaxRequestsPerChannel: number;
  /** How long a runner worker has to answer POST /live-video-to-video, in ms. */
  runnerStartTimeoutMs: number;
  /** Take X-Forwarded-Proto / Forwarded from the proxy in front for the URLs Wisp returns (fly.io's TLS). */
  trustProxy: boolean;
  /** Log level: "debug" | "info" | "warn" | "error". */
  logLevel: LogLevel;
}

export interface IceServer {
  urls: string;
  username?: string;
  credential?: string;
}

export type LogLevel = "debug" | "info" | "warn" | "error";

/** One documented key: its variable, default and meaning (rendered into the README). */
export interface ConfigKey {
  env: string;
  defaultValue: string;
  description: string;
  /** go-livepeer's names for the same setting, accepted as well. */
  aliases?: string[];
}

export const CONFIG_KEYS: readonly ConfigKey[] = [
  { env: "PORT", defaultValue: "8080", description: "HTTP port for the API, WHIP/WHEP and the player." },
  { env: "HOST", defaultValue: "0.0.0.0", description: "HTTP listen address." },
  {
    env: "WHEP_MAX_VIEWERS",
    defaultValue: "5",
    description: "Most concurrent WHEP viewers per stream (as go-livepeer); 0 means unlimited.",
    aliases: ["LIVE_AI_WHEP_MAX_SESSIONS"],
  },
  {
    env: "WHEP_WAIT_TIMEOUT_MS",
    defaultValue: "30000",
    description: "How long a WHEP POST for a stream without output waits before answering 404.",
  },
  {
    env: "VIEWER_QUEUE_BYTES",
    defaultValue: "4000000",
    description:
      "Media a slow viewer may have queued, its fast-start GOP included, before it skips to the next keyframe.",
  },
  {
    env: "PUBLISH_TOKENS",
    defaultValue: "",
    description:
      "Comma-separated tokens that may publish (`/ingest` and `/whip`), sent as `Authorization: Bearer …` or `?token=…`; empty means anyone may publish.",
    aliases: ["WHIP_TOKENS"],
  },
  {
    env: "PLAY_TOKENS",
    defaultValue: "",
    description: "Comma-separated tokens that may play (WHEP), sent like publish tokens; empty means anyone may play.",
  },
  {
    env: "AUTH_WEBHOOK_URL",
    defaultValue: "",
    description:
      "When set, every publish and play is also asked of this URL (POST JSON `{action, stream, token, remoteAddr, userAgent, query}`); a 2xx allows, anything else denies.",
  },
  {
    env: "AUTH_WEBHOOK_TIMEOUT_MS",
    defaultValue: "2000",
    description: "How long the auth webhook has to answer; no answer in time denies.",
  },
  {
    env: "INGEST_IDLE_TIMEOUT_MS",
    defaultValue: "30000",
    description:
      "An MPEG-TS push that sends no byte for this long is ended (`408`); measured from the last byte, so a push lasts as long as its encoder sends.",
  },
  {
    env: "INGEST_PROBE_BYTES",
    defaultValue: "1048576",
    description:
      "A push whose first this-many bytes hold no MPEG-TS program (PAT and PMT) is ended with `400` (not MPEG-TS).",
  },
  {
    env: "INGEST_PROBE_TIMEOUT_MS",
    defaultValue: "10000",
    description: "A push that has shown no MPEG-TS program (PAT and PMT) after this long is ended with `400`.",
  },
  {
    env: "MAX_BODY_BYTES",
    defaultValue: "65536",
    description:
      "Largest request body on every route but `/ingest` (SDP offers, trickle fragments): larger ones get `413`.",
  },
  {
    env: "BODY_TIMEOUT_MS",
    defaultValue: "10000",
    description: "How long such a body may take to arrive; a slower one gets `408`.",
  },
  {
    env: "MAX_OFFER_MEDIA",
    defaultValue: "16",
    description: "Most media sections (m= lines) in one WHIP or WHEP offer (`400` above).",
  },
  {
    env: "MAX_STREAMS",
    defaultValue: "100",
    description: "Most live streams at once; a publish of a further name gets `503`.",
  },
  {
    env: "WHEP_MAX_WAITING_PER_STREAM",
    defaultValue: "20",
    description:
      "Most WHEP POSTs waiting for one stream that has no output yet (`429` above); waiting POSTs hold no viewer place.",
  },
  {
    env: "WHEP_MAX_WAITING",
    defaultValue: "200",
    description: "Most WHEP POSTs waiting for streams without output, all streams together (`429` above).",
  },
  {
    env: "WEBRTC_CONNECT_TIMEOUT_MS",
    defaultValue: "10000",
    description:
      "An answered WHEP viewer or WHIP publisher that has not connected (ICE and DTLS) by then is closed, and its place freed.",
  },
  {
    env: "DRAIN_TIMEOUT_MS",
    defaultValue: "30000",
    description:
      "On SIGTERM: new sessions get `503`, live viewers and publishers are served for up to this long (or until they end), then ended cleanly; the process exits 0.",
  },
  {
    env: "WHIP_KEYFRAME_INTERVAL_MS",
    defaultValue: "2000",
    description: "How often a WHIP publisher is asked for a keyframe (RTCP PLI), as go-livepeer; 0 = only on loss.",
  },
  {
    env: "WEBRTC_UDP_ADDR",
    defaultValue: "",
    description:
      "host:port of the one UDP socket all WebRTC media (WHIP and WHEP) uses; `:port` binds all addresses; `off` gives each connection its own port. Empty: `0.0.0.0` and the same number as `PORT` (so a second server with another `PORT` needs nothing else).",
    aliases: ["LIVE_AI_WHEP_ADDR", "LIVE_AI_WHIP_ADDR"],
  },
  {
    env: "TRUST_PROXY",
    defaultValue: "off",
    description:
      "`on` behind a TLS-terminating proxy (fly.io sets it in `fly.toml`): the URLs Wisp returns (`Wisp-Playback-Url`, `Wisp-Player-Url`) take their scheme and host from `Forwarded` (RFC 7239) or `X-Forwarded-Proto` / `X-Forwarded-Host`. Off, those headers are ignored.",
  },
  {
    env: "WEBRTC_PUBLIC_IPS",
    defaultValue: "",
    description:
      "Comma-separated public IPv4 addresses announced as host candidates with the UDP port (1:1 NAT, fly.io).",
    aliases: ["LIVE_AI_NAT_IP"],
  },
  {
    env: "WEBRTC_ANNOUNCE",
    defaultValue: "replace",
    description:
      "`replace`: candidates only on the public IPs (or the bound address); `add`: besides the interface addresses.",
  },
  {
    env: "ICE_SERVERS",
    defaultValue: "",
    description:
      "Comma-separated STUN/TURN URLs (stun:host:3478, turn:host:3478?transport=udp), used by the server and sent to clients as Link rel=ice-server.",
  },
  { env: "ICE_USERNAME", defaultValue: "", description: "Username for the TURN servers in ICE_SERVERS." },
  { env: "ICE_CREDENTIAL", defaultValue: "", description: "Credential for the TURN servers in ICE_SERVERS." },
  {
    env: "WEBRTC_HANDOVER",
    defaultValue: "on",
    description:
      "`on`: with the UDP mux, werift's peer connection is released once a viewer is connected, and Wisp keeps the connection itself (ICE consent, SRTCP feedback, sender reports), a fraction of the memory; `off`: werift keeps every viewer's connection to the end (an escape hatch, should a browser disagree with Wisp's own connection keeping).",
  },
  {
    env: "PIPELINES",
    defaultValue: "",
    description:
      'Named processing pipelines, JSON: `{"name": spec}`, a spec being `"passthrough"`, `{"command": ["ffmpeg", "-i", "pipe:0", …, "-f", "mpegts", "pipe:1"]}` (a process reading MPEG-TS on stdin and writing MPEG-TS on stdout; argv, no shell) or `{"runner": "http://host:port", "token"?, "modelId"?, "params"?}` (an ai-runner live worker); either may add `"onFailure": "passthrough"` (default) or `"end"`. A publish picks one with `?pipeline=NAME`; `passthrough` always exists.',
  },
  {
    env: "PIPELINES_FILE",
    defaultValue: "",
    description: "Path of a JSON file holding the pipelines instead (same format as `PIPELINES`; set one of the two).",
  },
  {
    env: "DEFAULT_PIPELINE",
    defaultValue: "passthrough",
    description: "The pipeline of a publish without `?pipeline=`; must name a defined pipeline.",
  },
  {
    env: "PIPELINE_INPUT_QUEUE_BYTES",
    defaultValue: "2000000",
    description:
      "Input a command pipeline holds while its process does not read; beyond it the input skips to the next keyframe (sent after PAT and PMT), counted as `inputDrops`.",
  },
  {
    env: "PIPELINE_FIRST_OUTPUT_TIMEOUT_MS",
    defaultValue: "15000",
    description:
      "A pipeline attempt that has had input but no output for this long is replaced by a new one (a restarted command, a new worker call).",
  },
  {
    env: "PIPELINE_STALL_TIMEOUT_MS",
    defaultValue: "10000",
    description: "A pipeline attempt whose output stopped for this long while its input flows is replaced.",
  },
  {
    env: "PIPELINE_MAX_SEGMENTS_IN_FLIGHT",
    defaultValue: "3",
    description: "A runner worker with more input segments than this not yet read is behind: its attempt is replaced.",
  },
  {
    env: "PIPELINE_MAX_SWAPS",
    defaultValue: "2",
    description:
      'Most new attempts of one publish\'s pipeline within `PIPELINE_SWAP_WINDOW_MS`; then it falls back to passthrough (or ends the stream, with `"onFailure": "end"`).',
  },
  {
    env: "PIPELINE_SWAP_WINDOW_MS",
    defaultValue: "180000",
    description: "The window of `PIPELINE_MAX_SWAPS`.",
  },
  {
    env: "RECONNECT_GRACE_MS",
    defaultValue: "10000",
    description:
      "How long a stream whose publisher left (push ended, WHIP session closed) waits for it to come back; its viewers keep their connections and last picture meanwhile and play on from the new publish. 0 ends the stream at once.",
  },
  {
    env: "METRICS_TOKEN",
    defaultValue: "",
    description:
      "When set, `GET /metrics` needs it as `Authorization: Bearer …` (`401` otherwise); empty means `/metrics` is open.",
  },
  {
    env: "ADMIN_TOKEN",
    defaultValue: "",
    description:
      "When set, every `/api` route needs it as `Authorization: Bearer …` (`401` otherwise) and viewers' addresses are shown; empty means reads are open and writes (`DELETE`) answer `403`.",
  },
  {
    env: "WEBHOOK_URL",
    defaultValue: "",
    description:
      "When set, stream and viewer events are POSTed here as JSON (`stream.started`, `stream.ended`, `viewer.joined`, `viewer.left`, `pipeline.swapped`), in the background.",
  },
  {
    env: "WEBHOOK_SECRET",
    defaultValue: "",
    description:
      "When set, each webhook carries `Wisp-Signature: sha256=<hex>`, the HMAC-SHA256 of its exact body under this secret.",
  },
  {
    env: "WEBHOOK_QUEUE_SIZE",
    defaultValue: "1000",
    description: "Most webhook events waiting to be sent; beyond it the oldest is dropped (and counted in `/metrics`).",
  },
  {
    env: "WEBHOOK_TIMEOUT_MS",
    defaultValue: "5000",
    description: "How long one webhook delivery attempt may take before it counts as failed.",
  },
  {
    env: "WEBHOOK_MAX_ATTEMPTS",
    defaultValue: "5",
    description:
      "Attempts per webhook event, the first included; an event is retried after a network error, a timeout, a `429` or a `5xx`.",
  },
  {
    env: "WEBHOOK_RETRY_BACKOFF_MS",
    defaultValue: "1000",
    description: "Wait before the first webhook retry; doubled for each further one (at most 5 minutes).",
  },
  {
    env: "TRICKLE_PUBLIC_URL",
    defaultValue: "",
    description:
      "Base URL (`http://host:port`) at which a runner pipeline's worker reaches Wisp's `/trickle` channels; empty means `http://127.0.0.1:{PORT}` (a worker on the same machine).",
  },
  {
    env: "TRICKLE_MAX_SEGMENT_BYTES",
    defaultValue: "33554432",
    description:
      "Largest trickle segment a worker may `POST` (a segment is one GOP or more of MPEG-TS, or one JSON event); larger ones get `413`.",
  },
  {
    env: "TRICKLE_FIRST_BYTE_TIMEOUT_MS",
    defaultValue: "60000",
    description:
      "How long a trickle request may move no byte: a preconnected `POST` without its first byte gets `408`, a preconnected `GET` whose segment has not started gets `470` with `Lp-Trickle-Latest` (ask again), a segment body silent this long gets `408`.",
  },
  {
    env: "TRICKLE_MAX_CHANNELS",
    defaultValue: "400",
    description:
      "Most trickle channels at once (a runner pipeline attempt uses four); an attempt beyond it fails to start and the stream falls back as its pipeline says.",
  },
  {
    env: "TRICKLE_MAX_REQUESTS_PER_CHANNEL",
    defaultValue: "16",
    description: "Most HTTP requests open on one trickle channel at once (`429` above); a worker uses two or three.",
  },
  {
    env: "RUNNER_START_TIMEOUT_MS",
    defaultValue: "15000",
    description:
      "How long a runner worker has to answer `POST /live-video-to-video` with a `2xx`; a later answer, another status or no connection fails the attempt.",
  },
  { env: "LOG_LEVEL", defaultValue: "info", description: "debug, info, warn or error." },
];

export class ConfigError extends Error {
  override name = "ConfigError";
}

type Env = Record<string, string | undefined>;

/** The value of a key or one of its go-livepeer aliases; two different values are an error. */
function read(env: Env, key: string): string {
  const known = CONFIG_KEYS.find((k) => k.env === key);
  if (!known) throw new Error(`no default for config key ${key}`);
  const given = [key, ...(known.aliases ?? [])].filter((name) => env[name] !== undefined && env[name] !== "");
  const values = new Set(given.map((name) => env[name]!));
  if (values.size > 1) throw new ConfigError(`${given.join(" and ")} are set to different values; set one`);
  return given.length > 0 ? env[given[0]!]! : known.defaultValue;
}

function list(env: Env, key: string): string[] {
  return read(env, key)
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}

function integer(env: Env, key: string, min: number, max: number): number {
  const raw = read(env, key);
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${key}=${JSON.stringify(raw)} is not a whole number from ${min} to ${max}`);
  }
  return value;
}

function oneOf<T extends string>(env: Env, key: string, allowed: readonly T[]): T {
  const raw = read(env, key);
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${key}=${JSON.stringify(raw)} must be one of ${allowed.join(", ")}`);
  }
  return raw as T;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function udpAddress(env: Env): Config["udpMux"] {
  const raw = read(env, "WEBRTC_UDP_ADDR").trim();
  if (raw === "off") return undefined;
  if (raw === "") return { host: "0.0.0.0", port: integer(env, "PORT", 0, 65535) };
  const match = /^(.*):(\d+)$/.exec(raw);
  const port = Number(match?.[2]);
  if (!match || port > 65535) {
    throw new ConfigError(
      `WEBRTC_UDP_ADDR=${
        JSON.stringify(raw)
      } must be host:port, :port or off (go-livepeer's LIVE_AI_WHEP_ADDR works too)`,
    );
  }
  return { host: match[1] || "0.0.0.0", port };
}

function publicIps(env: Env): string[] {
  const ips = list(env, "WEBRTC_PUBLIC_IPS");
  for (const ip of ips) {
    const parts = IPV4.exec(ip);
    if (!parts || parts.slice(1).some((p) => Number(p) > 255)) {
      throw new ConfigError(`WEBRTC_PUBLIC_IPS: ${JSON.stringify(ip)} is not an IPv4 address`);
    }
  }
  return ips;
}

function httpUrl(env: Env, key: string): string | undefined {
  const raw = read(env, key).trim();
  if (raw === "") return undefined;
  if (!URL.canParse(raw) || !/^https?:$/.test(new URL(raw).protocol)) {
    throw new ConfigError(`${key}=${JSON.stringify(raw)} is not an http:// or https:// URL`);
  }
  return raw;
}

/** TRICKLE_PUBLIC_URL without a trailing slash; empty = undefined (the listening port decides). */
function trickleBaseUrl(env: Env): string | undefined {
  const url = httpUrl(env, "TRICKLE_PUBLIC_URL");
  return url?.replace(/\/+$/, "");
}

/** A secret or token; empty means none. */
function optionalSecret(env: Env, key: string): string | undefined {
  const raw = read(env, key).trim();
  return raw === "" ? undefined : raw;
}

function iceServers(env: Env): IceServer[] {
  const username = read(env, "ICE_USERNAME");
  const credential = read(env, "ICE_CREDENTIAL");
  return list(env, "ICE_SERVERS").map((urls) => {
    if (!/^(stun|stuns|turn|turns):[^\s]+$/.test(urls)) {
      throw new ConfigError(`ICE_SERVERS: ${JSON.stringify(urls)} is not a stun:, stuns:, turn: or turns: URL`);
    }
    const isTurn = urls.startsWith("turn");
    return isTurn && username ? { urls, username, credential } : { urls };
  });
}

/** PIPELINES or the file PIPELINES_FILE names, parsed (lib/pipeline/pipelineConfig.ts); errors name the variable. */
function pipelines(env: Env): ReadonlyMap<string, PipelineSpec> {
  const inline = read(env, "PIPELINES");
  const file = read(env, "PIPELINES_FILE").trim();
  if (inline.trim() !== "" && file !== "") throw new ConfigError("PIPELINES and PIPELINES_FILE are both set; set one");
  const source = file === "" ? "PIPELINES" : `PIPELINES_FILE (${file})`;
  try {
    return parsePipelines(file === "" ? inline : readFileSync(file, "utf8"));
  } catch (error) {
    const why = error instanceof PipelineConfigError ? error.message : `cannot be read: ${(error as Error).message}`;
    throw new ConfigError(`${source}: ${why}`);
  }
}

function defaultPipeline(env: Env, defined: ReadonlyMap<string, PipelineSpec>): string {
  const name = read(env, "DEFAULT_PIPELINE").trim();
  try {
    return checkDefaultPipeline(name, defined);
  } catch (error) {
    throw new ConfigError(`DEFAULT_PIPELINE=${JSON.stringify(name)} ${(error as Error).message}`);
  }
}

type PipelineSettings = Pick<
  Config,
  "pipelines" | "defaultPipeline" | "pipelineInputQueueBytes" | "pipelineLimits" | "reconnectGraceMs"
>;

function pipelineSettings(env: Env): PipelineSettings {
  const defined = pipelines(env);
  return {
    pipelines: defined,
    defaultPipeline: defaultPipeline(env, defined),
    pipelineInputQueueBytes: integer(env, "PIPELINE_INPUT_QUEUE_BYTES", 10_000, 1_000_000_000),
    pipelineLimits: {
      firstOutputTimeoutMs: integer(env, "PIPELINE_FIRST_OUTPUT_TIMEOUT_MS", 1_000, 600_000),
      stallTimeoutMs: integer(env, "PIPELINE_STALL_TIMEOUT_MS", 1_000, 600_000),
      maxSegmentsInFlight: integer(env, "PIPELINE_MAX_SEGMENTS_IN_FLIGHT", 1, 1_000),
      maxSwaps: integer(env, "PIPELINE_MAX_SWAPS", 0, 1_000),
      swapWindowMs: integer(env, "PIPELINE_SWAP_WINDOW_MS", 1_000, 86_400_000),
    },
    reconnectGraceMs: integer(env, "RECONNECT_GRACE_MS", 0, 600_000),
  };
}

/** Builds the configuration from an environment (process.env by default). Throws ConfigError. */
export function loadConfig(env: Env = process.env): Readonly<Config> {
  return Object.freeze({
    port: integer(env, "PORT", 0, 65535),
    host: read(env, "HOST"),
    maxViewersPerStream: integer(env, "WHEP_MAX_VIEWERS", 0, 1_000_000),
    // Bun caps one request's idle timeout at 255 s; the wait must end before it.
    whepWaitTimeoutMs: integer(env, "WHEP_WAIT_TIMEOUT_MS", 0, 240_000),
    viewerQueueBytes: integer(env, "VIEWER_QUEUE_BYTES", 10_000, 1_000_000_000),
    publishTokens: Object.freeze(list(env, "PUBLISH_TOKENS")),
    playTokens: Object.freeze(list(env, "PLAY_TOKENS")),
    authWebhookUrl: httpUrl(env, "AUTH_WEBHOOK_URL"),
    authWebhookTimeoutMs: integer(env, "AUTH_WEBHOOK_TIMEOUT_MS", 1, 60_000),
    ingestIdleTimeoutMs: integer(env, "INGEST_IDLE_TIMEOUT_MS", 1_000, 3_600_000),
    ingestProbeBytes: integer(env, "INGEST_PROBE_BYTES", 1_880, 1_000_000_000),
    ingestProbeTimeoutMs: integer(env, "INGEST_PROBE_TIMEOUT_MS", 100, 600_000),
    maxBodyBytes: integer(env, "MAX_BODY_BYTES", 1_024, 100_000_000),
    bodyTimeoutMs: integer(env, "BODY_TIMEOUT_MS", 100, 600_000),
    maxOfferMedia: integer(env, "MAX_OFFER_MEDIA", 1, 1_000),
    maxStreams: integer(env, "MAX_STREAMS", 1, 1_000_000),
    maxWaitingPerStream: integer(env, "WHEP_MAX_WAITING_PER_STREAM", 0, 1_000_000),
    maxWaiting: integer(env, "WHEP_MAX_WAITING", 0, 1_000_000),
    connectTimeoutMs: integer(env, "WEBRTC_CONNECT_TIMEOUT_MS", 1_000, 120_000),
    drainTimeoutMs: integer(env, "DRAIN_TIMEOUT_MS", 0, 3_600_000),
    whipKeyframeIntervalMs: integer(env, "WHIP_KEYFRAME_INTERVAL_MS", 0, 60_000),
    udpMux: udpAddress(env),
    publicIps: Object.freeze(publicIps(env)),
    announceMode: oneOf(env, "WEBRTC_ANNOUNCE", ["replace", "add"] as const),
    iceServers: Object.freeze(iceServers(env)),
    handOver: oneOf(env, "WEBRTC_HANDOVER", ["on", "off"] as const),
    ...pipelineSettings(env),
    metricsToken: optionalSecret(env, "METRICS_TOKEN"),
    adminToken: optionalSecret(env, "ADMIN_TOKEN"),
    webhookUrl: httpUrl(env, "WEBHOOK_URL"),
    webhookSecret: optionalSecret(env, "WEBHOOK_SECRET"),
    webhookQueueSize: integer(env, "WEBHOOK_QUEUE_SIZE", 1, 1_000_000),
    webhookTimeoutMs: integer(env, "WEBHOOK_TIMEOUT_MS", 100, 120_000),
    webhookMaxAttempts: integer(env, "WEBHOOK_MAX_ATTEMPTS", 1, 20),
    webhookRetryBackoffMs: integer(env, "WEBHOOK_RETRY_BACKOFF_MS", 1, 60_000),
    tricklePublicUrl: trickleBaseUrl(env),
    trickleMaxSegmentBytes: integer(env, "TRICKLE_MAX_SEGMENT_BYTES", 1_024, 1_000_000_000),
    // A GET waits this long for its segment, and Bun caps one request's idle timeout at 255 s.
    trickleFirstByteTimeoutMs: integer(env, "TRICKLE_FIRST_BYTE_TIMEOUT_MS", 100, 240_000),
    trickleMaxChannels: integer(env, "TRICKLE_MAX_CHANNELS", 4, 1_000_000),
    trickleMaxRequestsPerChannel: integer(env, "TRICKLE_MAX_REQUESTS_PER_CHANNEL", 2, 10_000),
    runnerStartTimeoutMs: integer(env, "RUNNER_START_TIMEOUT_MS", 100, 600_000),
    trustProxy: oneOf(env, "TRUST_PROXY", ["off", "on"] as const) === "on",
    logLevel: oneOf(env, "LOG_LEVEL", ["debug", "info", "warn", "error"] as const),
  });
}

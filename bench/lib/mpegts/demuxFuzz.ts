/**
 * Seeded fuzzing of the MPEG-TS demuxer (lib/mpegts/tsDemuxer.ts). Input i of seed S is made
 * from (S, i) alone (demuxFuzzInputs.ts: noise, hand-built streams, damaged fixture windows),
 * fed in a random chunking and checked against the invariants of `checkInput`; so
 * `fuzzDemuxer({ seed: S, first: i, inputs: 1 })` replays input i alone.
 * Run by tests/mpegts/tsDemuxerFuzz.test.ts (~20k inputs) and bench/fuzz.ts (10^6 by default).
 */
import { PTS_WRAP, type TrackInfo } from "../../../lib/accessUnit.ts";
import { MAX_OPUS_PACKET_SAMPLES } from "../../../lib/codec/opus.ts";
import { type DemuxError, type DemuxEvent, type DemuxStats, TsDemuxer } from "../../../lib/mpegts/tsDemuxer.ts";
import { SYNC_BYTE, TS_PACKET_SIZE, TsPacketSplitter } from "../../../lib/mpegts/tsPacket.ts";
import { type BuiltFacts, chunking, Dice, fixture, type FuzzInput, inputSeed, makeInput } from "./demuxFuzzInputs.ts";

export interface FuzzOptions {
  seed: number;
  /** How many inputs to make and check. */
  inputs: number;
  /** Index of the first input (default 0): `first: i, inputs: 1` replays input i. */
  first?: number;
  onFailure?: (failure: FuzzFailure) => void;
  /** Called before each input with its index (a watchdog can tell which one hangs). */
  onInput?: (index: number) => void;
  /** An input taking longer than this fails (default 5000 ms): work that is not linear in the input. */
  maxMillisPerInput?: number;
}

export interface FuzzFailure {
  seed: number;
  input: number;
  /** What the input was and how it was fed: "av.mpegts[0+40] pesLength, chunks<=189". */
  recipe: string;
  message: string;
}

export interface FuzzCounts {
  inputs: number;
  failures: number;
  bytes: number;
  units: number;
  decodeErrors: number;
  /** Inputs also demuxed whole and compared (whole packets, sync intact: any chunking must agree). */
  chunkingsCompared: number;
  /** Inputs whose units were checked against their source: undamaged, or with whole packets lost or repeated. */
  sourceChecked: number;
}

/** The splitter holds at most the SYNC_CONFIRMATIONS - 1 packets a resync looks ahead (tsPacket.ts). */
const MAX_PENDING_BYTES = 2 * TS_PACKET_SIZE;
const DEMUX_ERROR_KINDS = new Set(["resync", "continuity", "crc", "pes", "opus", "h264", "packet", "psi"]);

/** How to replay one input (printed with every failure). */
export const describeFailure = (f: FuzzFailure): string =>
  `demuxer fuzz failure: seed=${f.seed} input=${f.input} (${f.recipe}): ${f.message}\n` +
  `  replay: bun bench/fuzz.ts 1 --seed=${f.seed} --from=${f.input}`;

export async function fuzzDemuxer(options: FuzzOptions): Promise<FuzzCounts> {
  const { seed, inputs, first = 0, maxMillisPerInput = 5000 } = options;
  const counts: FuzzCounts = {
    inputs: 0,
    failures: 0,
    bytes: 0,
    units: 0,
    decodeErrors: 0,
    chunkingsCompared: 0,
    sourceChecked: 0,
  };
  for (let index = first; index < first + inputs; index++) {
    options.onInput?.(index);
    const dice = new Dice(inputSeed(seed, index));
    const input = makeInput(dice);
    const { sizes, name } = chunking(input.bytes.length, dice);
    const recipe = `${input.recipe}, ${name}`;
    const started = performance.now();
    try {
      checkInput(input, sizes, counts);
      const millis = performance.now() - started;
      check(millis <= maxMillisPerInput, `took ${millis.toFixed(0)} ms (limit ${maxMillisPerInput} ms)`);
    } catch (error) {
      counts.failures++;
      options.onFailure?.({ seed, input: index, recipe, message: describeError(error) });
    }
    counts.inputs++;
    counts.bytes += input.bytes.length;
  }
  return counts;
}

/** An invariant broken: reported as a failure (not a throw from the demuxer). */
class InvariantBroken extends Error {
  override name = "InvariantBroken";
}

function check(ok: boolean, message: string): asserts ok {
  if (!ok) throw new InvariantBroken(message);
}

function describeError(error: unknown): string {
  if (error instanceof InvariantBroken) return error.message;
  const where = error instanceof Error ? (error.stack?.split("\n").slice(0, 4).join(" | ") ?? error.message) : "";
  return `the demuxer threw: ${where || String(error)}`;
}

function checkInput(input: FuzzInput, sizes: number[], counts: FuzzCounts) {
  const run = demuxInChunks(input.bytes, sizes);
  checkCounters(run, input.bytes.length);
  counts.units += checkEvents(run, input.bytes.length);
  counts.decodeErrors += run.errors.length;
  if (sizes.length > 1 && isWholePackets(input.bytes)) {
    sameEvents(demuxInChunks(input.bytes, [input.bytes.length]), run, "the input demuxed whole");
    counts.chunkingsCompared++;
  }
  if (input.windowOf !== undefined) checkWindow(run, input.windowOf);
  if (input.built !== undefined) checkBuilt(run, input.built, input.damaged);
  if (input.windowOf !== undefined || input.built !== undefined) counts.sourceChecked++;
}

interface DemuxRun {
  /** Events let go by push(), then those let go by flush(). */
  pushed: DemuxEvent[];
  flushed: DemuxEvent[];
  errors: DemuxError[];
  stats: DemuxStats;
  /** The same chunks through a TsPacketSplitter of our own: what the demuxer's internal one did. */
  splitter: { packets: number; resyncs: number; leftoverBytes: number };
}

/**
 * push() each chunk, flush(). Unless the input goes in whole, each chunk is a buffer the
 * caller reuses (1-byte chunks) or overwrites once pushed, as a socket reader may: nothing
 * let go may depend on it (the comparisons with whole runs would see it). After every
 * packet's worth of bytes: no counter went down, and the packet splitter holds no more
 * than a resync needs (checked on a splitter of our own fed the same chunks).
 */
function demuxInChunks(bytes: Uint8Array, sizes: number[]): DemuxRun {
  const errors: DemuxError[] = [];
  const demuxer = new TsDemuxer({ onDecodeError: (e) => errors.push(e) });
  const splitter = new TsPacketSplitter();
  const pushed: DemuxEvent[] = [];
  const oneByte = new Uint8Array(1);
  let packets = 0;
  let stats = demuxer.stats;
  for (let at = 0, checked = 0, i = 0; i < sizes.length; at += sizes[i++]!) {
    const size = sizes[i]!;
    const chunk = size === 1 ? oneByte : sizes.length === 1 ? bytes : bytes.slice(at, at + size);
    if (size === 1) oneByte[0] = bytes[at]!;
    for (const event of demuxer.push(chunk)) pushed.push(event);
    packets += splitter.push(chunk).length;
    if (chunk !== bytes) chunk.fill(0xa5);
    check(splitter.pendingBytes <= MAX_PENDING_BYTES, `packet splitter holds ${splitter.pendingBytes} bytes`);
    if (at + size - checked < TS_PACKET_SIZE) continue;
    stats = checkStatsGrew(stats, demuxer.stats);
    checked = at + size;
  }
  const flushed = demuxer.flush();
  const last = splitter.flush();
  stats = checkStatsGrew(stats, demuxer.stats);
  return {
    pushed,
    flushed,
    errors,
    stats,
    splitter: { packets: packets + last.packets.length, resyncs: splitter.resyncs, leftoverBytes: last.leftoverBytes },
  };
}

const STATS_KEYS: ReadonlyArray<keyof DemuxStats> = [
  "packets",
  "resyncs",
  "continuityErrors",
  "crcErrors",
  "droppedUnits",
];

/** Stats are whole numbers that never go down. */
function checkStatsGrew(before: DemuxStats, after: DemuxStats): DemuxStats {
  for (const key of STATS_KEYS) {
    const grew = Number.isSafeInteger(after[key]) && after[key] >= before[key];
    check(grew, `stats.${key} went ${before[key]} -> ${after[key]}`);
  }
  return after;
}

/** What was counted is what was reported, and no more packets were read than the input holds. */
function checkCounters({ stats, errors, splitter }: DemuxRun, inputLength: number): void {
  check(stats.packets * TS_PACKET_SIZE <= inputLength, `${stats.packets} packets read from ${inputLength} bytes`);
  check(stats.packets === splitter.packets, `stats.packets ${stats.packets}, a splitter alone cut ${splitter.packets}`);
  check(stats.resyncs === splitter.resyncs, `stats.resyncs ${stats.resyncs}, a splitter alone: ${splitter.resyncs}`);
  check(stats.resyncs <= stats.packets, `${stats.resyncs} resyncs but only ${stats.packets} packets`);
  const reported = (...kinds: string[]) => errors.filter((e) => kinds.includes(e.kind)).length;
  const leftover = splitter.leftoverBytes > 0 ? 1 : 0;
  // The bytes left over at flush are reported as kind "resync" too, and not counted.
  const resyncReports = reported("resync");
  check(resyncReports === stats.resyncs + leftover, `${resyncReports} resync reports, stats.resyncs ${stats.resyncs}`);
  check(reported("crc") === stats.crcErrors, `${reported("crc")} crc reports, stats.crcErrors ${stats.crcErrors}`);
  check(
    reported("continuity") === stats.continuityErrors,
    `${reported("continuity")} continuity reports, stats.continuityErrors ${stats.continuityErrors}`,
  );
  const unitErrors = reported("pes", "opus", "h264");
  check(
    stats.droppedUnits >= unitErrors && stats.droppedUnits <= unitErrors + stats.continuityErrors,
    `stats.droppedUnits ${stats.droppedUnits} with ${unitErrors} unit reports and ${stats.continuityErrors} gaps`,
  );
  for (const e of errors) {
    check(DEMUX_ERROR_KINDS.has(e.kind) && e.message.length > 0, `malformed report ${JSON.stringify(e)}`);
    check(e.pid === undefined || isPid(e.pid), `report with PID ${e.pid}`);
  }
}

const isPid = (pid: number) => Number.isInteger(pid) && pid >= 0 && pid < 0x2000;
const isTimestamp = (t: number) => Number.isInteger(t) && t >= 0 && t < PTS_WRAP;

/**
 * Every unit is well-formed, on a playable track of the last tracks event, with a 33-bit pts
 * (and dts); all units together hold no more bytes than the input (nothing copied or grown).
 * Returns the unit count.
 */
function checkEvents(run: DemuxRun, inputLength: number): number {
  let tracks: TrackInfo[] = [];
  let units = 0;
  let unitBytes = 0;
  for (const event of [...run.pushed, ...run.flushed]) {
    if (event.type === "tracks") {
      const { programNumber, pmtVersion } = event;
      const wellFormed = event.tracks.every((t) => isPid(t.pid)) && programNumber > 0 && programNumber < 0x10000 &&
        Number.isInteger(pmtVersion) && pmtVersion >= 0 && pmtVersion < 32; // 2.4.4.8: 16 and 5 bits
      check(wellFormed, `malformed tracks event ${JSON.stringify(event)}`);
      tracks = event.tracks;
      continue;
    }
    const unit = event.unit;
    const codec = unit.track === "video" ? "h264" : "opus";
    const where = `${unit.track} unit on PID ${unit.pid} pts ${unit.pts}`;
    const track = tracks.find((t) => t.pid === unit.pid && t.codec === codec && t.playable);
    check(track !== undefined, `${where}: no such playable track`);
    check(isTimestamp(unit.pts), `${where}: pts is not a 33-bit timestamp`);
    if (unit.track === "video") {
      check(isTimestamp(unit.dts), `${where}: dts ${unit.dts} is not a 33-bit timestamp`);
      check(unit.nalus.length > 0 && unit.nalus.every((n) => n.length > 0), `${where}: an empty NAL unit or none`);
      for (const nalu of unit.nalus) unitBytes += nalu.length;
    } else {
      const { samples, payload } = unit;
      const wellFormed = Number.isInteger(samples) && samples > 0 && samples <= MAX_OPUS_PACKET_SAMPLES;
      check(wellFormed, `${where}: ${samples} samples`);
      check(payload.length > 0, `${where}: empty Opus packet`);
      unitBytes += payload.length;
    }
    units++;
  }
  check(unitBytes <= inputLength, `units hold ${unitBytes} bytes, more than the ${inputLength}-byte input`);
  return units;
}

/** Whole packets with every sync byte in place: the splitter cuts them alike in any chunking. */
function isWholePackets(bytes: Uint8Array): boolean {
  if (bytes.length % TS_PACKET_SIZE !== 0) return false;
  for (let at = 0; at < bytes.length; at += TS_PACKET_SIZE) if (bytes[at] !== SYNC_BYTE) return false;
  return true;
}

/** The same events (units byte-equal, same timestamps and keyframe flags) and the same reports. */
function sameEvents(other: Pick<DemuxRun, "pushed" | "flushed" | "errors">, run: DemuxRun, what: string): void {
  const mine = [...run.pushed, ...run.flushed].map(fingerprint);
  const theirs = [...other.pushed, ...other.flushed].map(fingerprint);
  const at = firstDifference(mine, theirs);
  check(at === -1, `${what} gives other events: #${at} is ${theirs[at]}, not ${mine[at]}`);
  const reports = firstDifference(run.errors.map((e) => e.message), other.errors.map((e) => e.message));
  check(reports === -1, `${what} reports otherwise: #${reports} is "${other.errors[reports]?.message}"`);
}

function firstDifference(a: string[], b: string[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** A comparable form of an event: unit bytes as length and FNV-1a hash. */
function fingerprint(event: DemuxEvent): string {
  if (event.type === "tracks") return JSON.stringify(event);
  const u = event.unit;
  return u.track === "video"
    ? `v ${u.pid} ${u.pts} ${u.dts} ${u.keyframe} ${u.nalus.map(hashBytes).join(",")}`
    : `a ${u.pid} ${u.pts} ${u.samples} ${hashBytes(u.payload)}`;
}

function hashBytes(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (const byte of bytes) h = Math.imul(h ^ byte, 0x01000193);
  return `${bytes.length}:${(h >>> 0).toString(36)}`;
}

/** Each fixture demuxed whole once: its tracks events and its units (fingerprints). */
const wholeFiles = new Map<string, { tracks: Set<string>; units: string[] }>();

function wholeFile(name: string): { tracks: Set<string>; units: string[] } {
  let known = wholeFiles.get(name);
  if (!known) {
    const bytes = fixture(name);
    const { pushed } = demuxInChunks(bytes, [bytes.length]);
    const tracks = new Set(pushed.filter((e) => e.type === "tracks").map(fingerprint));
    known = { tracks, units: pushed.filter((e) => e.type === "unit").map(fingerprint) };
    wholeFiles.set(name, known);
  }
  return known;
}

/**
 * A window of a fixture starts at a packet boundary. Undamaged, or with a few whole packets lost or
 * repeated (each gap seen by the continuity counters, 2.4.3.3), its tracks events are the whole
 * file's and every unit it lets go before flush (a PES the window cuts short comes out at flush)
 * is one of the whole file's, in order.
 */
function checkWindow(run: DemuxRun, name: string): void {
  const whole = wholeFile(name);
  let at = 0;
  for (const event of run.pushed) {
    const print = fingerprint(event);
    if (event.type === "tracks") {
      check(whole.tracks.has(print), `${name} window: ${print} is not a tracks event of the whole file`);
      continue;
    }
    const found = whole.units.indexOf(print, at);
    check(found >= 0, `${name} window: unit ${print} is not (in order) in the whole file`);
    at = found + 1;
  }
}

/**
 * A built stream: undamaged, one video unit per PES with its pts, one audio unit per Opus packet and
 * no decode error; with whole packets lost or repeated, some of those units.
 */
function checkBuilt(run: DemuxRun, built: BuiltFacts, damaged: boolean): void {
  const units = [...run.pushed, ...run.flushed].flatMap((e) => (e.type === "unit" ? [e.unit] : []));
  const pts = units.filter((u) => u.track === "video").map((u) => u.pts);
  const audio = units.length - pts.length;
  if (damaged) {
    let at = 0;
    for (const t of pts) {
      at = built.videoPts.indexOf(t, at) + 1;
      check(at > 0, `built stream: video pts ${t} is not (in order) among ${built.videoPts}`);
    }
    check(audio <= built.audioUnits, `built stream: ${audio} Opus units, built ${built.audioUnits}`);
    return;
  }
  check(run.errors.length === 0, `built stream: reported ${run.errors[0]?.kind}: ${run.errors[0]?.message}`);
  const same = firstDifference(pts.map(String), built.videoPts.map(String)) === -1;
  check(same, `built stream: video pts ${pts} not ${built.videoPts}`);
  check(audio === built.audioUnits, `built stream: ${audio} Opus units, built ${built.audioUnits}`);
}

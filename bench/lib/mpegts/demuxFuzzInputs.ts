/**
 * Inputs for the demuxer fuzzer (demuxFuzz.ts), all drawn from one seeded Dice: noise, hand-built
 * streams, windows of the ffmpeg fixtures, the damage done to them, and the chunking they are fed in.
 */
import { readFileSync } from "node:fs";
import { PTS_WRAP } from "../../../lib/accessUnit.ts";
import { opusPacketSamples } from "../../../lib/codec/opus.ts";
import { crc32Mpeg2 } from "../../../lib/mpegts/crc32.ts";
import { SYNC_BYTE } from "../../../lib/mpegts/tsPacket.ts";
import { seededRandom } from "../random.ts";
import {
  concatBytes,
  OPUS_REGISTRATION,
  opusControlHeader,
  patSection,
  pesBytes,
  pesPackets,
  pmtSection,
  psiPackets,
  TS,
} from "./tsBuilders.ts";

/** Random choices from a seeded PRNG (mulberry32, bench/lib/random.ts). */
export class Dice {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = seededRandom(seed);
  }
  /** 0 .. n-1 */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next() * 256;
    return out;
  }
}

/** The seed of input `index` of a run: a 32-bit mix of both (splitmix-style), so inputs replay alone. */
export function inputSeed(seed: number, index: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

export interface FuzzInput {
  bytes: Uint8Array;
  /** What was done, for a failure report: "av.mpegts[120+37] dropPackets flipBits". */
  recipe: string;
  damaged: boolean;
  /**
   * Where the units come from, kept when the input is undamaged or only lost whole packets (at most 4)
   * or got some repeated, which the continuity counters reveal (2.4.3.3): a window of this fixture ...
   */
  windowOf?: string;
  /** ... or a built stream. */
  built?: BuiltFacts;
}

export interface BuiltFacts {
  videoPts: number[];
  audioUnits: number;
}

export const FIXTURES = ["av.mpegts", "video-only.mpegts", "audio-only.mpegts", "aac.mpegts", "bframes.mpegts"];
/** The committed ffmpeg fixtures: data, read here (tests/fixtures/README.md says how they were made). */
const FIXTURES_DIR = new URL("../../../tests/fixtures/", import.meta.url);
const fixtureBytes = new Map(FIXTURES.map((name) => [name, new Uint8Array(readFileSync(new URL(name, FIXTURES_DIR)))]));
export const fixture = (name: string): Uint8Array => fixtureBytes.get(name)!;

/** Longest fixture window: 100 packets (18.8 KB), a few PAT/PMT repeats and a keyframe; kept small for speed. */
const MAX_WINDOW_PACKETS = 100;
/** PIDs the fixtures and the built streams use (PAT, PMT, video, audio), so damage lands on followed PIDs. */
const PMT_PID = 0x1000;
const VIDEO_PID = 0x100;
const AUDIO_PID = 0x101;
const INTERESTING_PIDS = [0, PMT_PID, VIDEO_PID, AUDIO_PID, 0x11, 0x1fff];

/** One input: 5% noise, 25% hand-built, 70% fixture windows; 80% of the last two damaged 1 to 3 times. */
export function makeInput(dice: Dice): FuzzInput {
  const roll = dice.next();
  if (roll < 0.05) return noise(dice);
  const input = roll < 0.3 ? builtStream(dice) : fixtureWindow(dice);
  if (dice.chance(0.2)) return input;
  let { bytes, recipe } = input;
  let wholePacketsOnly = true;
  for (let n = 1 + dice.int(3); n > 0; n--) {
    const [name, mutate] = dice.pick(MUTATIONS);
    bytes = mutate(bytes, dice);
    recipe += ` ${name}`;
    wholePacketsOnly &&= mutate === dropPackets || mutate === duplicatePackets;
  }
  return wholePacketsOnly ? { ...input, bytes, recipe, damaged: true } : { bytes, recipe, damaged: true };
}

function fixtureWindow(dice: Dice): FuzzInput {
  const name = dice.pick(FIXTURES);
  const all = fixture(name);
  const total = all.length / TS;
  const start = dice.chance(0.5) ? 0 : dice.int(total);
  const count = Math.min(total - start, 1 + Math.floor(dice.next() ** 2 * MAX_WINDOW_PACKETS));
  const bytes = all.subarray(start * TS, (start + count) * TS);
  return { bytes, recipe: `${name}[${start}+${count}]`, damaged: false, windowOf: name };
}

/** Random bytes; half the time with 0x47 every 188 bytes and PIDs the demuxer looks at. */
function noise(dice: Dice): FuzzInput {
  const bytes = dice.bytes(dice.int(6 * TS));
  if (dice.chance(0.5)) return { bytes, recipe: `noise(${bytes.length})`, damaged: true };
  for (let at = dice.int(TS); at + 3 < bytes.length; at += TS) {
    const pid = dice.pick(INTERESTING_PIDS);
    bytes[at] = SYNC_BYTE;
    bytes[at + 1] = (bytes[at + 1]! & 0xe0) | (pid >> 8);
    bytes[at + 2] = pid & 0xff;
  }
  return { bytes, recipe: `noisePackets(${bytes.length})`, damaged: true };
}

/** Streams a built PMT may also list: listed (tracks event), never carried, never played. */
const EXTRA_STREAMS = [
  { streamType: 0x1b, pid: 0x102 }, // a second H.264 track: only the first is played
  { streamType: 0x06, pid: 0x103, descriptors: OPUS_REGISTRATION }, // a second Opus track
  { streamType: 0x0f, pid: 0x104 }, // AAC
  { streamType: 0x06, pid: 0x105, descriptors: [0x6a, 1, 0] }, // DVB AC-3 descriptor
  { streamType: 0x06, pid: 0x106, descriptors: [0x05, 4, 0x4b, 0x4c, 0x56, 0x41] }, // registered "KLVA"
  { streamType: 0x99, pid: 0x107, descriptors: [0x80, 250, ...new Array<number>(250).fill(7)] }, // PMT spans packets
];

/**
 * PAT, PMT (H.264 and/or Opus, maybe more) and 1 to 12 PES with random timestamps and payloads,
 * counters in order; PAT and PMT maybe sent again between them, maybe with a new version.
 */
function builtStream(dice: Dice): FuzzInput {
  const video = dice.chance(0.8);
  const audio = !video || dice.chance(0.6);
  const streams = [
    ...(video ? [{ streamType: 0x1b, pid: VIDEO_PID }] : []),
    ...(audio ? [{ streamType: 0x06, pid: AUDIO_PID, descriptors: OPUS_REGISTRATION }] : []),
    ...EXTRA_STREAMS.filter(() => dice.chance(0.1)),
  ];
  const cc = new Map<number, number>();
  const parts: Uint8Array[] = [];
  const send = (pid: number, packets: (firstCc: number) => Uint8Array[]) => {
    const sent = packets(cc.get(pid) ?? 0);
    cc.set(pid, ((cc.get(pid) ?? 0) + sent.length) % 16);
    parts.push(...sent);
  };
  const sendPsi = (version: number) => {
    send(0, (first) => psiPackets(0, patSection([[1, PMT_PID]]), first));
    send(PMT_PID, (first) => psiPackets(PMT_PID, pmtSection({ version, pcrPid: streams[0]!.pid, streams }), first));
  };
  let version = 0;
  sendPsi(version);
  const facts: BuiltFacts = { videoPts: [], audioUnits: 0 };
  for (let n = 1 + dice.int(12); n > 0; n--) {
    if (dice.chance(0.1)) sendPsi(dice.chance(0.5) ? version : ++version % 32);
    const pid = video && (!audio || dice.chance(0.6)) ? VIDEO_PID : AUDIO_PID;
    const pes = pid === VIDEO_PID ? videoPes(dice, facts) : opusPes(dice, facts);
    send(pid, (first) => pesPackets(pid, pes, first));
  }
  return { bytes: concatBytes(parts), recipe: `built(${streams.length} tracks)`, damaged: false, built: facts };
}

/** One Annex B access unit: a start code, a NAL header byte, random bytes (2.14: PES payload is Annex B). */
function videoPes(dice: Dice, facts: BuiltFacts): Uint8Array {
  const pts = dice.int(PTS_WRAP);
  const dts = dice.chance(0.5) ? Math.max(0, pts - dice.int(9000)) : undefined;
  const nalHeader = dice.pick([0x65, 0x41, 0x67, 0x68, 0x06, 0x09]); // IDR, non-IDR, SPS, PPS, SEI, AUD
  const payload = concatBytes([Uint8Array.of(0, 0, 0, 1, nalHeader), dice.bytes(dice.int(1500))]);
  facts.videoPts.push(pts);
  return pesBytes({ pts, ...(dts === undefined ? {} : { dts }), payload, bounded: dice.chance(0.3) });
}

/** 1 to 4 Opus packets (RFC 6716 3.1 TOC: any config, one, two or a counted number of frames), one bounded PES. */
function opusPes(dice: Dice, facts: BuiltFacts): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let n = 1 + dice.int(4); n > 0; n--) {
    const packet = dice.bytes(2 + dice.int(300));
    packet[0] = (dice.int(32) << 3) | dice.int(4);
    if (opusPacketSamples(packet) === undefined) packet[0]! &= 0xfc; // code 3 with a frame count out of range
    const trims = dice.chance(0.2) ? { startTrim: dice.int(0x2000) } : {};
    parts.push(Uint8Array.from(opusControlHeader(packet.length, trims)), packet);
    facts.audioUnits++;
  }
  return pesBytes({ streamId: 0xc0, pts: dice.int(PTS_WRAP), payload: concatBytes(parts), bounded: true });
}

type Mutation = (bytes: Uint8Array, dice: Dice) => Uint8Array;

const packetCount = (b: Uint8Array) => Math.floor(b.length / TS);
/** Offset of the payload of the packet at `at` (2.4.3.2 adaptation_field_control, 2.4.3.5 length); may run past it. */
const payloadAt = (b: Uint8Array, at: number) => at + 4 + (b[at + 3]! & 0x20 ? 1 + b[at + 4]! : 0);

/** Offsets of the packets that pass `test`. */
function packetsWhere(b: Uint8Array, test: (at: number) => boolean): number[] {
  const found: number[] = [];
  for (let at = 0; at + TS <= b.length; at += TS) if (test(at)) found.push(at);
  return found;
}

/** Runs `edit` on a copy, at one packet that passes `test` (none: the copy as it is). */
function atOnePacket(
  b: Uint8Array,
  dice: Dice,
  test: (at: number) => boolean,
  edit: (copy: Uint8Array, at: number) => void,
): Uint8Array {
  const copy = b.slice();
  const found = packetsWhere(copy, test);
  if (found.length > 0) edit(copy, dice.pick(found));
  return copy;
}

const flipBits: Mutation = (b, dice) => {
  const copy = b.slice();
  for (let n = 1 + dice.int(8); n > 0 && copy.length > 0; n--) copy[dice.int(copy.length)]! ^= 1 << dice.int(8);
  return copy;
};

const truncate: Mutation = (b, dice) => {
  const end = dice.chance(0.7) ? dice.int(b.length + 1) : b.length;
  return b.slice(dice.chance(0.5) ? dice.int(end + 1) : 0, end);
};

/** The front of this input, cut anywhere, then the back of another fixture window, cut anywhere. */
const splice: Mutation = (b, dice) => {
  const other = fixtureWindow(dice).bytes;
  return concatBytes([b.subarray(0, dice.int(b.length + 1)), other.subarray(dice.int(other.length + 1))]);
};

/** One packet sent 2 to 4 times (2.4.3.3 allows a packet twice, not more). */
const duplicatePackets: Mutation = (b, dice) => {
  const n = packetCount(b);
  if (n === 0) return b.slice();
  const at = dice.int(n) * TS;
  const copies = Array.from({ length: 1 + dice.int(3) }, () => b.subarray(at, at + TS));
  return concatBytes([b.subarray(0, at + TS), ...copies, b.subarray(at + TS)]);
};

const dropPackets: Mutation = (b, dice) => {
  const at = dice.int(packetCount(b) + 1) * TS;
  return concatBytes([b.subarray(0, at), b.subarray(at + TS * (1 + dice.int(4)))]);
};

/**
 * A PAT or PMT section (2.4.4.3, 2.4.4.8) whose CRC_32 fails, or with a field set at random
 * (section_length, program_info_length, ES_info_length, stream_type, PIDs...) and signed again
 * (Annex A) when it still fits its packet, so that the parsers see nonsense with a valid CRC.
 */
const psiDamage: Mutation = (b, dice) => {
  const sectionAt = (c: Uint8Array, at: number) => payloadAt(c, at) + 1 + c[payloadAt(c, at)]!; // pointer_field
  const isPsiStart = (at: number) => {
    const start = sectionAt(b, at);
    return (b[at + 1]! & 0x40) !== 0 && start < at + TS - 3 && (b[start] === 0 || b[start] === 2); // PAT, PMT
  };
  return atOnePacket(b, dice, isPsiStart, (c, at) => {
    const start = sectionAt(c, at);
    const size = () => 3 + (((c[start + 1]! & 0x0f) << 8) | c[start + 2]!);
    if (dice.chance(0.3)) {
      c[Math.min(at + TS - 1, start + size() - 1 - dice.int(4))]! ^= 1 << dice.int(8); // a CRC_32 bit
      return;
    }
    c[Math.min(at + TS - 1, start + 1 + dice.int(Math.max(1, size() - 5)))] = dice.int(256);
    const end = start + size();
    if (end > at + TS || size() < 4) return;
    new DataView(c.buffer).setUint32(end - 4, crc32Mpeg2(c.subarray(start, end - 4)));
  });
};

/** A PES start (payload begins 00 00 01, 2.4.3.6) in a packet; `field` is an offset into the PES. */
function atPesStart(b: Uint8Array, dice: Dice, field: number, edit: (c: Uint8Array, pes: number) => void) {
  const isPesStart = (at: number) => {
    const p = payloadAt(b, at);
    return (b[at + 1]! & 0x40) !== 0 && p + field < at + TS && b[p] === 0 && b[p + 1] === 0 && b[p + 2] === 1;
  };
  return atOnePacket(b, dice, isPesStart, (c, at) => edit(c, payloadAt(c, at)));
}

/** PES_packet_length (2.4.3.7): 0 (unbounded), shorter than the header, or far too long. */
const pesLength: Mutation = (b, dice) =>
  atPesStart(b, dice, 5, (c, pes) => {
    const length = dice.pick([0, 1, 2, 3, 8, 13, dice.int(400), dice.int(0x10000), 0xffff]);
    c[pes + 4] = length >> 8;
    c[pes + 5] = length & 0xff;
  });

/** PES_header_data_length past the PES, PTS_DTS_flags '01' or none, the '10' marker bits broken. */
const pesHeaderLength: Mutation = (b, dice) =>
  atPesStart(b, dice, 8, (c, pes) => {
    c[pes + 8] = dice.pick([0, 1, 4, 5, 9, 10, 0xb0, 0xff, dice.int(256)]);
    if (dice.chance(0.3)) c[pes + 7] = dice.int(256);
    if (dice.chance(0.1)) c[pes + 6] = dice.int(256);
  });

/** adaptation_field_length (2.4.3.5) at and past its limits, or adaptation_field_control set at random. */
const adaptationLength: Mutation = (b, dice) =>
  atOnePacket(b, dice, (at) => (b[at + 3]! & 0x20) !== 0, (c, at) => {
    if (dice.chance(0.7)) c[at + 4] = dice.pick([0, 1, 7, 182, 183, 184, 255, dice.int(256)]);
    else c[at + 3] = (c[at + 3]! & 0xcf) | (dice.int(4) << 4);
  });

/** Sync bytes damaged, or bytes inserted or lost at random (packet sync slips). */
const syncDamage: Mutation = (b, dice) => {
  const at = dice.int(b.length + 1);
  const variant = dice.int(3);
  if (variant === 0) return concatBytes([b.subarray(0, at), dice.bytes(1 + dice.int(2 * TS)), b.subarray(at)]);
  if (variant === 1) return concatBytes([b.subarray(0, at), b.subarray(at + 1 + dice.int(2 * TS))]);
  const copy = b.slice();
  for (let n = 1 + dice.int(3); n > 0 && packetCount(copy) > 0; n--) {
    copy[dice.int(packetCount(copy)) * TS] = dice.int(256);
  }
  return copy;
};

/** One packet's header (2.4.3.2): PID, payload_unit_start, transport_error, counter, discontinuity. */
const headerFields: Mutation = (b, dice) =>
  atOnePacket(b, dice, () => true, (c, at) => {
    const field = dice.int(5);
    if (field === 0) {
      const pid = dice.chance(0.7) ? dice.pick(INTERESTING_PIDS) : dice.int(0x2000);
      c[at + 1] = (c[at + 1]! & 0xe0) | (pid >> 8);
      c[at + 2] = pid & 0xff;
    } else if (field === 1) c[at + 1]! ^= 0x40;
    else if (field === 2) c[at + 1]! ^= 0x80;
    else if (field === 3) c[at + 3] = (c[at + 3]! & 0xf0) | dice.int(16);
    else if (c[at + 3]! & 0x20 && c[at + 4]! > 0) c[at + 5]! ^= 0x80;
  });

const MUTATIONS: Array<[string, Mutation]> = [
  ["flipBits", flipBits],
  ["truncate", truncate],
  ["splice", splice],
  ["duplicatePackets", duplicatePackets],
  ["dropPackets", dropPackets],
  ["psiDamage", psiDamage],
  ["pesLength", pesLength],
  ["pesHeaderLength", pesHeaderLength],
  ["adaptationLength", adaptationLength],
  ["syncDamage", syncDamage],
  ["headerFields", headerFields],
];

/** 1-byte chunks (10%), the whole input (40%), or random sizes up to a size from a list (50%). */
export function chunking(length: number, dice: Dice): { sizes: number[]; name: string } {
  const roll = dice.next();
  if (roll < 0.1) return { sizes: new Array<number>(length).fill(1), name: "1-byte" };
  if (roll < 0.5) return { sizes: [length], name: "whole" };
  const max = dice.pick([2, 7, 100, 187, 188, 189, 376, 1000, 4096]);
  const sizes: number[] = [];
  for (let left = length; left > 0; left -= sizes.at(-1)!) sizes.push(Math.min(left, 1 + dice.int(max)));
  return { sizes, name: `chunks<=${max}` };
}

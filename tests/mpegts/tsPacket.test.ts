import { describe, expect, test } from "bun:test";
import { parseTsPacket, TS_PACKET_SIZE, type TsPacket, TsPacketSplitter } from "../../lib/mpegts/tsPacket.ts";
import { readFixture } from "../fixtures/readFixture.ts";
import { randomChunks, seededRandom } from "../../bench/lib/random.ts";
import { concatBytes, packetsOf, TS, tsPacket } from "../../bench/lib/mpegts/tsBuilders.ts";

const parsed = (bytes: Uint8Array): TsPacket => {
  const packet = parseTsPacket(bytes);
  if (typeof packet === "string") throw new Error(packet);
  return packet;
};

describe("parseTsPacket (ISO/IEC 13818-1 2.4.3.2)", () => {
  test("header fields and a full 184-byte payload", () => {
    const payload = new Uint8Array(184).map((_, i) => i);
    const p = parsed(tsPacket({ pid: 0x1abc, cc: 13, pusi: true, payload }));
    expect(p).toMatchObject({
      pid: 0x1abc,
      payloadUnitStart: true,
      transportError: false,
      continuityCounter: 13,
      hasPayload: true,
    });
    expect([...p.payload]).toEqual([...payload]);
  });

  test("adaptation field with stuffing, PCR and discontinuity; payload after it", () => {
    const p = parsed(
      tsPacket({ pid: 0x100, cc: 2, payload: Uint8Array.of(1, 2, 3), pcr: 2 ** 33 - 1, discontinuity: true }),
    );
    expect(p).toMatchObject({ discontinuity: true, randomAccess: false, pcr: 2 ** 33 - 1, hasPayload: true });
    expect([...p.payload]).toEqual([1, 2, 3]);
    expect(parsed(tsPacket({ pid: 0x100, cc: 2, payload: Uint8Array.of(1), pcr: 123456789 })).pcr).toBe(123456789);
  });

  test("adaptation-only packet: no payload, the counter does not count", () => {
    const p = parsed(tsPacket({ pid: 0x100, cc: 5, pcr: 900 }));
    expect(p).toMatchObject({ hasPayload: false, pcr: 900 });
    expect(p.payload.length).toBe(0);
  });

  test("adaptation_field_length 0 (one stuffing byte) leaves a 183-byte payload", () => {
    const p = parsed(tsPacket({ pid: 0x100, cc: 0, payload: new Uint8Array(183).fill(9) }));
    expect(p.payload.length).toBe(183);
    expect(p.stuffed).toBe(true);
  });

  test("stuffed: set when the adaptation field is longer than its flagged fields need (2.4.3.4)", () => {
    expect(parsed(tsPacket({ pid: 0x100, cc: 0, payload: new Uint8Array(184) })).stuffed).toBe(false); // no adaptation field
    expect(parsed(tsPacket({ pid: 0x100, cc: 0, payload: new Uint8Array(100) })).stuffed).toBe(true);
    // A PCR and a payload that fills the rest: adaptation_field_length 7 = flags + PCR, no stuffing.
    expect(parsed(tsPacket({ pid: 0x100, cc: 0, payload: new Uint8Array(176), pcr: 9 })).stuffed).toBe(false);
    expect(parsed(tsPacket({ pid: 0x100, cc: 0, payload: new Uint8Array(175), pcr: 9 })).stuffed).toBe(true);
    // Private data (flag 0x02) of 3 bytes fills the field exactly: no stuffing.
    const withPrivateData = tsPacket({ pid: 0x100, cc: 0, payload: new Uint8Array(178) });
    withPrivateData.set([5, 0x02, 3, 0xaa, 0xbb, 0xcc], 4); // length 5: flags, length, 3 bytes
    expect(parsed(withPrivateData).stuffed).toBe(false);
  });

  test("the payload is a view into the packet", () => {
    const bytes = tsPacket({ pid: 0x100, cc: 0, payload: Uint8Array.of(7) });
    expect(parsed(bytes).payload.buffer).toBe(bytes.buffer);
  });

  test.each([
    ["transport_error_indicator is reported, not rejected", { transportError: true }, { transportError: true }],
  ])("%s", (_name, spec, expected) => {
    expect(parsed(tsPacket({ pid: 0x100, cc: 0, payload: Uint8Array.of(1), ...spec }))).toMatchObject(expected);
  });

  test.each([
    ["reserved adaptation_field_control 00", (p: Uint8Array) => (p[3] = p[3]! & 0xcf), /'00' is reserved/],
    ["adaptation_field_length 183 with a payload", (p: Uint8Array) => ((p[3] = 0x30), (p[4] = 183)), /exceeds 182/],
    ["adaptation_field_length 184", (p: Uint8Array) => ((p[3] = 0x20), (p[4] = 184)), /exceeds 183/],
    ["no sync byte", (p: Uint8Array) => (p[0] = 0x46), /starting with 0x47/],
  ])("malformed: %s", (_name, damage, message) => {
    const bytes = tsPacket({ pid: 0x100, cc: 0, payload: Uint8Array.of(1) });
    damage(bytes);
    expect(parseTsPacket(bytes)).toMatch(message);
  });

  test("a short packet is malformed", () => {
    expect(parseTsPacket(new Uint8Array(100).fill(0x47))).toMatch(/188-byte/);
  });
});

/** n distinct packets (each byte 4 tells them apart). */
function makePackets(n: number): Uint8Array[] {
  return Array.from(
    { length: n },
    (_, i) => tsPacket({ pid: 0x100, cc: i, payload: new Uint8Array(184).fill(i & 0xff) }),
  );
}

function split(chunks: Uint8Array[]) {
  const resyncs: number[] = [];
  const splitter = new TsPacketSplitter({ onResync: (skipped) => resyncs.push(skipped) });
  const packets = chunks.flatMap((c) => splitter.push(c));
  const beforeFlush = packets.length;
  packets.push(...splitter.flush().packets);
  return { packets, beforeFlush, resyncs, splitter };
}

const same = (a: Uint8Array[], b: Uint8Array[]) => expect(a.map((p) => [...p])).toEqual(b.map((p) => [...p]));

describe("TsPacketSplitter", () => {
  const PACKETS = makePackets(20);
  const STREAM = concatBytes(PACKETS);

  test("aligned input: every packet, no resync", () => {
    const { packets, resyncs, splitter } = split([STREAM]);
    same(packets, PACKETS);
    expect(resyncs).toEqual([]);
    expect(splitter.skippedBytes).toBe(0);
  });

  test.each([1, 2, 5, 42])("random chunks (seed %p) and 1-byte chunks give the same packets", (seed) => {
    same(split(randomChunks(STREAM, seededRandom(seed), seed === 1 ? 1 : 700)).packets, PACKETS);
  });

  test("a real fixture in 1-byte chunks", () => {
    const av = readFixture("av.mpegts").subarray(0, TS * 50);
    const chunks = Array.from({ length: av.length }, (_, i) => av.subarray(i, i + 1));
    same(split(chunks).packets, packetsOf(av));
  });

  test("packets are copies: reusing the input buffer does not change them", () => {
    const input = STREAM.slice(0, TS * 4);
    const splitter = new TsPacketSplitter();
    const packets = splitter.push(input);
    input.fill(0);
    same(packets, PACKETS.slice(0, packets.length));
  });

  test("garbage before the stream: skipped, one resync reporting its size", () => {
    const garbage = new Uint8Array(1000).map((_, i) => (i * 31 + 1) & 0xff).map((b) => (b === 0x47 ? 0 : b));
    garbage[500] = 0x47; // a lone sync byte inside the garbage must not be trusted
    const { packets, resyncs, splitter } = split([garbage, STREAM]);
    same(packets, PACKETS);
    expect(resyncs).toEqual([1000]);
    expect(splitter.resyncs).toBe(1);
  });

  test("garbage with 0x47 at 188-byte spacing twice is still not trusted", () => {
    const garbage = new Uint8Array(2 * TS + 50).fill(0x11);
    garbage[10] = 0x47;
    garbage[10 + TS] = 0x47; // two in a row, the third position holds 0x11
    const { packets, resyncs } = split([garbage, STREAM]);
    same(packets, PACKETS);
    expect(resyncs).toEqual([garbage.length]);
  });

  test("a stream joined mid-packet: the partial packet is skipped", () => {
    const { packets, resyncs } = split([STREAM.subarray(100)]);
    same(packets, PACKETS.slice(1));
    expect(resyncs).toEqual([88]);
  });

  test("bytes lost inside the stream: with the next sync byte at hand, only the packet cut short is lost", () => {
    const damaged = concatBytes([...PACKETS.slice(0, 5), PACKETS[5]!.subarray(0, 77), ...PACKETS.slice(6)]);
    const { packets, resyncs } = split([damaged]);
    same(packets, [...PACKETS.slice(0, 5), ...PACKETS.slice(6)]);
    expect(resyncs).toEqual([77]);
  });

  test("bytes lost, 1-byte chunks: the cut-short packet cannot be checked and passes mixed with the next", () => {
    const damaged = concatBytes([...PACKETS.slice(0, 5), PACKETS[5]!.subarray(0, 77), ...PACKETS.slice(6)]);
    const { packets, resyncs } = split(Array.from(damaged, (b) => Uint8Array.of(b)));
    same(packets, [
      ...PACKETS.slice(0, 5),
      concatBytes([PACKETS[5]!.subarray(0, 77), PACKETS[6]!.subarray(0, 111)]),
      ...PACKETS.slice(7),
    ]);
    expect(resyncs).toEqual([77]); // the rest of packet 6, up to packet 7
  });

  test("an overlong packet (bytes inserted inside it) is dropped, not cut to 188 bytes", () => {
    const long = concatBytes([PACKETS[5]!.subarray(0, 50), Uint8Array.of(9, 9, 9), PACKETS[5]!.subarray(50)]);
    const { packets, resyncs } = split([concatBytes([...PACKETS.slice(0, 5), long, ...PACKETS.slice(6)])]);
    same(packets, [...PACKETS.slice(0, 5), ...PACKETS.slice(6)]);
    expect(resyncs).toEqual([191]);
  });

  test("junk after a packet: that packet is dropped too (it cannot be told from an overlong one)", () => {
    const junk = Uint8Array.of(1, 2, 3, 4, 5);
    const { packets, resyncs } = split([concatBytes([...PACKETS.slice(0, 8), junk, ...PACKETS.slice(8)])]);
    same(packets, [...PACKETS.slice(0, 7), ...PACKETS.slice(8)]);
    expect(resyncs).toEqual([TS + 5]);
  });

  test("after garbage, unconfirmed packets wait for more data; flush confirms them on what there is", () => {
    const splitter = new TsPacketSplitter();
    expect(splitter.push(concatBytes([Uint8Array.of(1, 2, 3), ...PACKETS.slice(0, 2)]))).toEqual([]); // 2 sync bytes, not 3
    expect(splitter.pendingBytes).toBe(2 * TS); // the 3 garbage bytes are already known not to start a packet
    const { packets, leftoverBytes } = splitter.flush();
    same(packets, PACKETS.slice(0, 2));
    expect([leftoverBytes, splitter.resyncs]).toEqual([0, 1]);
  });

  test("the start of the stream is trusted: each packet is let go as soon as it is whole", () => {
    const splitter = new TsPacketSplitter();
    same(splitter.push(PACKETS[0]!), PACKETS.slice(0, 1)); // e.g. a PAT on its own
    expect(splitter.push(PACKETS[1]!.subarray(0, 187))).toEqual([]);
    same(splitter.push(PACKETS[1]!.subarray(187)), PACKETS.slice(1, 2));
    expect(splitter.resyncs).toBe(0);
  });

  test("a truncated last packet is left over at flush, and the next stream starts clean", () => {
    const splitter = new TsPacketSplitter();
    same(splitter.push(concatBytes([...PACKETS.slice(0, 4), PACKETS[4]!.subarray(0, 100)])), PACKETS.slice(0, 4));
    expect(splitter.flush()).toEqual({ packets: [], leftoverBytes: 100 });
    expect(splitter.pendingBytes).toBe(0);
    same(splitter.push(PACKETS[7]!), PACKETS.slice(7, 8));
  });

  test("pure noise: nothing trusted, nothing thrown", () => {
    const random = seededRandom(5);
    const noise = new Uint8Array(20_000).map(() => Math.floor(random() * 256));
    for (let i = 0; i < noise.length; i += 97) noise[i] = 0x47;
    const { packets } = split(randomChunks(noise, random, 999));
    for (const p of packets) expect(p.length).toBe(TS_PACKET_SIZE);
  });
});

import { describe, expect, test } from "bun:test";
import { MAX_PES_SIZE, PesAssembler, type PesOutput } from "../../lib/mpegts/pesAssembler.ts";
import { parseTsPacket, type TsPacket } from "../../lib/mpegts/tsPacket.ts";
import { pesBytes, pesPackets, tsPacket } from "../../bench/lib/mpegts/tsBuilders.ts";

const packet = (bytes: Uint8Array): TsPacket => {
  const p = parseTsPacket(bytes);
  if (typeof p === "string") throw new Error(p);
  return p;
};
const video = (pts: number, size: number) => pesBytes({ pts, payload: new Uint8Array(size).fill(pts & 0xff) });
const audio = (pts: number, size: number) =>
  pesBytes({ streamId: 0xbd, pts, payload: new Uint8Array(size).fill(7), bounded: true });
const ok = (outputs: PesOutput[]) => outputs.map((o) => (o.ok ? [...o.bytes] : o.message));

describe("PesAssembler (ISO/IEC 13818-1 2.4.3.6)", () => {
  test("unbounded (video) PES: let go at its last packet, the one with adaptation-field stuffing", () => {
    const a = new PesAssembler(0x100);
    const pes = video(1, 500); // 14-byte header + 500 = 514 bytes: 184 + 184 + 146 and 38 bytes of stuffing
    const [p0, p1, p2] = pesPackets(0x100, pes).map(packet);
    expect(a.push(p0!)).toEqual([]);
    expect(a.push(p1!)).toEqual([]);
    expect(p2!.stuffed).toBe(true);
    expect(ok(a.push(p2!))).toEqual([[...pes]]); // not one frame interval later, at the next unit start
    expect(a.flush()).toEqual([]);
  });

  test("unbounded PES that fills its last packet exactly: let go at the next unit start, and at flush", () => {
    const a = new PesAssembler(0x100);
    const first = video(1, 3 * 184 - 14); // no room left: no stuffing, it could go on
    const second = video(2, 184 - 14);
    const out: PesOutput[] = [];
    for (const p of pesPackets(0x100, first)) out.push(...a.push(packet(p)));
    expect(out).toEqual([]);
    for (const p of pesPackets(0x100, second, 3)) out.push(...a.push(packet(p)));
    expect(ok(out)).toEqual([[...first]]);
    expect(ok(a.flush())).toEqual([[...second]]);
    expect(a.flush()).toEqual([]);
  });

  test("endAtStuffing: false waits for the next unit start even after a stuffed packet", () => {
    const a = new PesAssembler(0x100, { endAtStuffing: false });
    const pes = video(1, 500);
    for (const p of pesPackets(0x100, pes)) expect(a.push(packet(p))).toEqual([]);
    expect(ok(a.flush())).toEqual([[...pes]]);
  });

  test("a PES that goes on after a stuffed packet: one error, and the rule is off for this PID", () => {
    const a = new PesAssembler(0x100);
    const pes = video(1, 200);
    const head = pes.subarray(0, 100);
    expect(ok(a.push(packet(tsPacket({ pid: 0x100, cc: 0, pusi: true, payload: head }))))).toEqual([[...head]]);
    expect(ok(a.push(packet(tsPacket({ pid: 0x100, cc: 1, payload: pes.subarray(100) }))))).toEqual([
      "PID 256: a PES went on after a TS packet with adaptation-field stuffing; from now on its PES end only at the next unit start (one unit lost)",
    ]);
    const next = video(2, 10); // one stuffed packet: no longer let go at once
    expect(a.push(packet(pesPackets(0x100, next, 2)[0]!))).toEqual([]);
    expect(ok(a.flush())).toEqual([[...next]]);
  });

  test("bounded (audio) PES: let go as soon as it is complete", () => {
    const a = new PesAssembler(0x101);
    const pes = audio(1, 400); // 3 packets
    const packets = pesPackets(0x101, pes);
    expect(a.push(packet(packets[0]!))).toEqual([]);
    expect(a.push(packet(packets[1]!))).toEqual([]);
    expect(ok(a.push(packet(packets[2]!)))).toEqual([[...pes]]);
    expect(a.flush()).toEqual([]);
  });

  test("a bounded PES cut short by the next unit start is dropped with the reason", () => {
    const a = new PesAssembler(0x101);
    const pes = audio(1, 400);
    a.push(packet(pesPackets(0x101, pes)[0]!));
    const next = audio(2, 5);
    const out = a.push(packet(pesPackets(0x101, next, 1)[0]!));
    expect(ok(out)).toEqual(["PID 257: PES cut short by the next unit start at 184 of 414 declared bytes", [...next]]);
  });

  test("a bounded PES cut short by the end of the stream", () => {
    const a = new PesAssembler(0x101);
    a.push(packet(pesPackets(0x101, audio(1, 400))[0]!));
    expect(ok(a.flush())).toEqual(["PID 257: PES cut short by the end of the stream at 184 of 414 declared bytes"]);
  });

  test("data before the first unit start is ignored (joined mid-PES)", () => {
    const a = new PesAssembler(0x100);
    const pes = video(1, 400);
    const [, second, third] = pesPackets(0x100, pes);
    expect(a.push(packet(second!))).toEqual([]);
    expect(a.push(packet(third!))).toEqual([]);
    expect(a.flush()).toEqual([]);
  });

  test("interrupt() drops the PES under way and ignores data up to the next unit start", () => {
    const a = new PesAssembler(0x100);
    const [p0, p1, p2] = pesPackets(0x100, video(1, 500));
    a.push(packet(p0!));
    expect(a.interrupt()).toBe(true);
    expect(a.push(packet(p1!))).toEqual([]);
    expect(a.push(packet(p2!))).toEqual([]);
    const next = video(2, 10);
    expect(ok(a.push(packet(pesPackets(0x100, next)[0]!)))).toEqual([[...next]]);
    expect(a.flush()).toEqual([]);
    expect(a.interrupt()).toBe(false);
  });

  test("the PES_packet_length is read even when the first packet holds under 6 bytes of it", () => {
    const a = new PesAssembler(0x101);
    const pes = audio(1, 20);
    const out = [
      ...a.push(packet(tsPacket({ pid: 0x101, cc: 0, pusi: true, payload: pes.subarray(0, 4) }))),
      ...a.push(packet(tsPacket({ pid: 0x101, cc: 1, payload: pes.subarray(4) }))),
    ];
    expect(ok(out)).toEqual([[...pes]]);
  });

  test("adaptation-only packets add nothing, and their stuffing ends no PES (they carry no payload)", () => {
    const a = new PesAssembler(0x100);
    const pes = video(1, 184 - 14);
    expect(a.push(packet(pesPackets(0x100, pes)[0]!))).toEqual([]);
    const pcrOnly = packet(tsPacket({ pid: 0x100, cc: 1, pcr: 5 }));
    expect(pcrOnly.stuffed).toBe(true);
    expect(a.push(pcrOnly)).toEqual([]);
    expect(ok(a.flush())).toEqual([[...pes]]);
  });

  test(`an unbounded PES past ${MAX_PES_SIZE} bytes is dropped, not grown without end`, () => {
    const a = new PesAssembler(0x100);
    const filler = packet(tsPacket({ pid: 0x100, cc: 0, payload: new Uint8Array(184) }));
    const out = a.push(packet(pesPackets(0x100, video(1, 184 - 14))[0]!)); // a full first packet: no stuffing
    for (let i = 0; i * 184 <= MAX_PES_SIZE; i++) out.push(...a.push(filler));
    expect(ok(out)).toEqual([`PID 256: PES grew past ${MAX_PES_SIZE} bytes without ending; dropped`]);
    expect(a.flush()).toEqual([]); // and the rest up to the next unit start is ignored
  });
});

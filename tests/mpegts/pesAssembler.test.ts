import { describe, expect, test } from "bun:test";
import { MAX_PES_SIZE, PesAssembler, type PesOutput } from "../../lib/mpegts/pesAssembler.ts";
import { parseTsPacket, type TsPacket } from "../../lib/mpegts/tsPacket.ts";
import { pesBytes, pesPackets, tsPacket } from "./tsBuilders.ts";

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
  test("unbounded (video) PES: let go at the next unit start, and at flush", () => {
    const a = new PesAssembler(0x100);
    const first = video(1, 500);
    const second = video(2, 10);
    const out: PesOutput[] = [];
    for (const p of pesPackets(0x100, first)) out.push(...a.push(packet(p)));
    expect(out).toEqual([]); // no length: it could go on
    for (const p of pesPackets(0x100, second, 3)) out.push(...a.push(packet(p)));
    expect(ok(out)).toEqual([[...first]]);
    expect(ok(a.flush())).toEqual([[...second]]);
    expect(a.flush()).toEqual([]);
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
    a.push(packet(pesPackets(0x100, next)[0]!));
    expect(ok(a.flush())).toEqual([[...next]]);
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

  test("adaptation-only packets add nothing", () => {
    const a = new PesAssembler(0x100);
    const pes = video(1, 10);
    a.push(packet(pesPackets(0x100, pes)[0]!));
    a.push(packet(tsPacket({ pid: 0x100, cc: 1, pcr: 5 })));
    expect(ok(a.flush())).toEqual([[...pes]]);
  });

  test(`an unbounded PES past ${MAX_PES_SIZE} bytes is dropped, not grown without end`, () => {
    const a = new PesAssembler(0x100);
    const filler = packet(tsPacket({ pid: 0x100, cc: 0, payload: new Uint8Array(184) }));
    const out = a.push(packet(pesPackets(0x100, video(1, 100))[0]!));
    for (let i = 0; i * 184 <= MAX_PES_SIZE; i++) out.push(...a.push(filler));
    expect(ok(out)).toEqual([`PID 256: PES grew past ${MAX_PES_SIZE} bytes without ending; dropped`]);
    expect(a.flush()).toEqual([]); // and the rest up to the next unit start is ignored
  });
});

import { describe, expect, test } from "bun:test";
import { DatagramBatch } from "../../lib/udp/datagramBatch.ts";

describe("DatagramBatch", () => {
  test("a datagram written at a reserved offset is taken where it is, any other is copied in", () => {
    const batch = new DatagramBatch({ maxDatagrams: 4, slabBytes: 1000 });
    const at = batch.reserve(10);
    batch.slab.fill(7, at, at + 10);
    batch.addReserved(at, 10, "127.0.0.1", 5000);
    const outside = Buffer.alloc(5, 9);
    batch.add(outside, "10.0.0.1", 6000);
    outside.fill(0); // the batch holds its own copy

    expect(batch.count).toBe(2);
    expect(batch.offsets.slice(0, 2)).toEqual(Int32Array.of(0, 10));
    expect(batch.datagram(0)).toEqual(Buffer.alloc(10, 7));
    expect(batch.datagram(1)).toEqual(Buffer.alloc(5, 9));
    expect([batch.hosts[1], batch.ports[1]]).toEqual(["10.0.0.1", 6000]);
  });

  test("room ends with the slab's bytes or the slots; clear() frees both", () => {
    const batch = new DatagramBatch({ maxDatagrams: 2, slabBytes: 100 });
    expect(batch.hasRoom(101)).toBe(false);
    batch.add(Buffer.alloc(60), "127.0.0.1", 1);
    expect(batch.hasRoom(41)).toBe(false);
    expect(() => batch.reserve(41)).toThrow(RangeError);
    batch.add(Buffer.alloc(40), "127.0.0.1", 1);
    expect(batch.hasRoom(0)).toBe(false); // no slot left
    batch.clear();
    expect(batch.count).toBe(0);
    expect(batch.hasRoom(100)).toBe(true);
    expect(batch.reserve(100)).toBe(0);
  });
});

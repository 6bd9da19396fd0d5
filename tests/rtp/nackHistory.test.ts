import { expect, test } from "bun:test";
import { NackHistory } from "../../lib/rtp/nackHistory.ts";

const payload = (byte: number) => Uint8Array.of(byte);

test("finds a packet by its 16-bit sequence number, across a rollover, with the index, timestamp and marker it was sent with", () => {
  const history = new NackHistory(8);
  const first = 0x1fffe; // ROC 1, sequence 65534
  for (let i = 0; i < 4; i++) history.remember(first + i, 1000 + i, i === 3, payload(i));
  expect(history.find(0xffff)).toEqual({ packetIndex: 0x1ffff, timestamp: 1001, marker: false, payload: payload(1) });
  expect(history.find(1)).toEqual({ packetIndex: 0x20001, timestamp: 1003, marker: true, payload: payload(3) });
  expect(history.find(2)).toBeUndefined(); // never sent
});

test("bounded: a ring of the size rounded up to a power of two; older packets are gone", () => {
  const history = new NackHistory(5); // 8 slots
  for (let index = 0; index < 20; index++) history.remember(index, index, false, payload(index));
  expect(history.find(11)).toBeUndefined(); // overwritten by 19
  expect(history.find(12)?.payload).toEqual(payload(12));
  expect(history.find(19)?.packetIndex).toBe(19);
});

test("size 0 (no NACK negotiated) keeps nothing", () => {
  const history = new NackHistory(0);
  history.remember(7, 0, false, payload(7));
  expect(history.enabled).toBe(false);
  expect(history.find(7)).toBeUndefined();
});

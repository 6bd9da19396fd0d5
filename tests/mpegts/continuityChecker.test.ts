import { expect, test } from "bun:test";
import { ContinuityChecker } from "../../lib/mpegts/continuityChecker.ts";
import type { TsPacket } from "../../lib/mpegts/tsPacket.ts";

const packet = (continuityCounter: number, o: Partial<TsPacket> = {}): TsPacket => ({
  pid: 0x100,
  payloadUnitStart: false,
  transportError: false,
  continuityCounter,
  hasPayload: true,
  discontinuity: false,
  randomAccess: false,
  stuffed: false,
  pcr: undefined,
  payload: new Uint8Array(1),
  ...o,
});

const AF_ONLY = { hasPayload: false };
const DISCONTINUITY = { discontinuity: true };

// ISO/IEC 13818-1 2.4.3.3: [name, packets as [cc, overrides], verdict kinds]
test.each([
  ["in order, wrapping 15 -> 0", [[14], [15], [0], [1]], ["ok", "ok", "ok", "ok"]],
  ["first packet of a PID accepts any counter", [[9]], ["ok"]],
  ["a jump is a gap", [[1], [2], [4], [5]], ["ok", "ok", "gap", "ok"]],
  ["a step back is a gap", [[5], [3]], ["ok", "gap"]],
  ["one repeat is a duplicate", [[3], [3], [4]], ["ok", "duplicate", "ok"]],
  ["a third copy is a gap", [[3], [3], [3], [4]], ["ok", "duplicate", "gap", "ok"]],
  ["adaptation-only packets do not advance the counter", [[7], [7, AF_ONLY], [2, AF_ONLY], [8]], [
    "ok",
    "ok",
    "ok",
    "ok",
  ]],
  ["discontinuity_indicator allows a jump", [[1], [9, DISCONTINUITY], [10]], ["ok", "ok", "ok"]],
  ["a wrong counter after a duplicate is a gap", [[3], [3], [6]], ["ok", "duplicate", "gap"]],
] as Array<[string, Array<[number, Partial<TsPacket>?]>, Array<"ok" | "duplicate" | "gap">]>)(
  "%s",
  (_name, packets, verdicts) => {
    const checker = new ContinuityChecker();
    expect(packets.map(([cc, o]) => checker.check(packet(cc, o)).kind)).toEqual(verdicts);
  },
);

test("a gap says what was expected", () => {
  const checker = new ContinuityChecker();
  checker.check(packet(1));
  expect(checker.check(packet(5))).toEqual({
    kind: "gap",
    message: "PID 256: a jump to continuity_counter 5, expected 2",
  });
});

test("reset forgets the last counter", () => {
  const checker = new ContinuityChecker();
  checker.check(packet(1));
  checker.reset();
  expect(checker.check(packet(9)).kind).toBe("ok");
});

test("a third copy is a gap marked as a repeat: its payload may have been read already", () => {
  const checker = new ContinuityChecker();
  checker.check(packet(3));
  checker.check(packet(3));
  expect(checker.check(packet(3))).toEqual({
    kind: "gap",
    message: "PID 256: a third copy of continuity_counter 3, expected 4",
    repeat: true,
  });
});

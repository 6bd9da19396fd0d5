import { describe, expect, test } from "bun:test";
import { RtpHeader, RtpPacket } from "werift";
import { isGap, JitterBuffer, type RtpItem } from "../../lib/rtp/jitterBuffer.ts";
import { seededRandom } from "../../bench/lib/random.ts";

function rtp(seq: number): RtpPacket {
  return new RtpPacket(new RtpHeader({ sequenceNumber: seq & 0xffff, timestamp: 0 }), Buffer.from([seq & 0xff]));
}

/** Released items as sequence numbers and "gapN" markers. */
const show = (items: RtpItem[]) => items.map((i) => (isGap(i) ? `gap${i.gap}` : i.header.sequenceNumber));

function pushAll(jb: JitterBuffer, seqs: number[]): Array<number | string> {
  return seqs.flatMap((s) => show(jb.push(rtp(s))));
}

/** Shuffles so that no element moves more than `window - 1` places (sorts by index + random offset). */
function shuffleWithin<T>(items: T[], window: number, random: () => number): T[] {
  return items
    .map((item, i) => ({ item, key: i + random() * window }))
    .sort((a, b) => a.key - b.key)
    .map(({ item }) => item);
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => (from + i) & 0xffff);

describe("JitterBuffer ordering", () => {
  test("packets in order pass straight through", () => {
    const jb = new JitterBuffer();
    expect(pushAll(jb, [100, 101, 102])).toEqual([100, 101, 102]);
    expect(jb.size).toBe(0);
  });

  test("a reordered packet is held until the missing one arrives", () => {
    const jb = new JitterBuffer();
    expect(pushAll(jb, [5])).toEqual([5]);
    expect(pushAll(jb, [7])).toEqual([]);
    expect(jb.size).toBe(1);
    expect(pushAll(jb, [6])).toEqual([6, 7]);
  });

  for (const seed of [1, 2, 3]) {
    test(`1000 packets shuffled within 20 places come out in order (seed ${seed})`, () => {
      const jb = new JitterBuffer({ capacity: 64 });
      const sent = range(40_000, 1000);
      const out = [sent[0]!, ...shuffleWithin(sent.slice(1), 20, seededRandom(seed))];
      expect(pushAll(jb, out)).toEqual(sent);
      expect(jb.stats).toEqual({ received: 1000, duplicates: 0, lost: 0, late: 0, resyncs: 0 });
    });
  }

  test("sequence numbers wrap at 65535 -> 0, also when reordered across the wrap", () => {
    const jb = new JitterBuffer();
    expect(pushAll(jb, [65533, 65535, 0, 65534, 2, 1])).toEqual([65533, 65534, 65535, 0, 1, 2]);
  });

  test("many wraps in a row keep the order (extended sequence numbers)", () => {
    const jb = new JitterBuffer({ capacity: 16 });
    const sent = range(65_000, 3 * 65_536);
    const out = [sent[0]!, ...shuffleWithin(sent.slice(1), 8, seededRandom(9))];
    const got = pushAll(jb, out);
    expect(got.length).toBe(sent.length);
    expect(got).toEqual(sent);
  });
});

describe("JitterBuffer duplicates and late packets", () => {
  test("copies of held and of released packets are dropped and counted as duplicates", () => {
    const jb = new JitterBuffer();
    expect(pushAll(jb, [1, 3, 3, 2, 1, 2, 3])).toEqual([1, 2, 3]);
    expect(jb.stats).toMatchObject({ received: 7, duplicates: 4, late: 0, lost: 0 });
  });

  test("a packet arriving after it was given up on is late, not a duplicate", () => {
    let now = 0;
    const jb = new JitterBuffer({ now: () => now });
    pushAll(jb, [1, 3]);
    now = 100;
    expect(show(jb.poll())).toEqual(["gap1", 3]);
    expect(pushAll(jb, [2, 4])).toEqual([4]);
    expect(jb.stats).toMatchObject({ late: 1, duplicates: 0, lost: 1 });
  });
});

describe("JitterBuffer loss", () => {
  test("a missing packet is declared lost after maxWaitMs via poll() (injected clock)", () => {
    let now = 1000;
    const losses: number[] = [];
    const jb = new JitterBuffer({ maxWaitMs: 50, now: () => now });
    jb.onLoss = (count) => losses.push(count);
    expect(pushAll(jb, [10, 12, 13])).toEqual([10]);
    now = 1049;
    expect(show(jb.poll())).toEqual([]);
    now = 1050;
    expect(show(jb.poll())).toEqual(["gap1", 12, 13]);
    expect(jb.stats.lost).toBe(1);
    expect(losses).toEqual([1]);
    expect(show(jb.poll())).toEqual([]);
  });

  test("each hole waits from the arrival of the oldest packet held behind it", () => {
    let now = 0;
    const jb = new JitterBuffer({ maxWaitMs: 50, now: () => now });
    pushAll(jb, [1, 3]); // 2 missing since t = 0
    now = 30;
    pushAll(jb, [6]); // 4 and 5 missing since t = 30
    now = 50;
    expect(show(jb.poll())).toEqual(["gap1", 3]);
    now = 79;
    expect(show(jb.poll())).toEqual([]);
    now = 80;
    expect(show(jb.poll())).toEqual(["gap2", 6]);
    expect(jb.stats.lost).toBe(3);
  });

  test("a loss across the sequence wrap counts the right number of packets", () => {
    let now = 0;
    const jb = new JitterBuffer({ now: () => now });
    pushAll(jb, [65533, 1]);
    now = 50;
    expect(show(jb.poll())).toEqual(["gap3", 1]); // 65534, 65535, 0
  });

  test("a packet a full window ahead gives up the hole at once, without waiting", () => {
    const jb = new JitterBuffer({ capacity: 4 });
    expect(pushAll(jb, [1, 3, 4])).toEqual([1]);
    expect(pushAll(jb, [5])).toEqual([]); // 2 .. 5 still fit the window
    expect(pushAll(jb, [6])).toEqual(["gap1", 3, 4, 5, 6]); // 6 - 2 >= capacity: 2 is given up
    expect(pushAll(jb, [20])).toEqual(["gap10"]); // only what 20 needs (7 .. 16): 17 .. 20 fit the window
    expect(show(jb.flush())).toEqual(["gap3", 20]);
    expect(jb.stats.lost).toBe(14);
  });

  test("flush() releases everything held, with gaps for what is missing", () => {
    const jb = new JitterBuffer();
    pushAll(jb, [1, 3, 6, 7]);
    expect(show(jb.flush())).toEqual(["gap1", 3, "gap2", 6, 7]);
    expect(jb.size).toBe(0);
  });

  for (const seed of [11, 12, 13]) {
    test(`random loss, duplication and reordering: every packet once, in order, gaps add up (seed ${seed})`, () => {
      const random = seededRandom(seed);
      const jb = new JitterBuffer({ capacity: 256 });
      const sent = range(65_000, 2000);
      const kept = sent.filter((_, i) => i === 0 || random() > 0.05);
      const withCopies = kept.flatMap((s, i) => (i > 0 && random() < 0.05 ? [s, s] : [s]));
      const arrival = [withCopies[0]!, ...shuffleWithin(withCopies.slice(1), 30, random)];
      const items = arrival.flatMap((s) => jb.push(rtp(s)));
      items.push(...jb.flush());
      const packets = items.filter((i) => !isGap(i)).map((i) => (i as RtpPacket).header.sequenceNumber);
      expect(packets).toEqual(kept);
      const gapTotal = items.reduce((n, i) => n + (isGap(i) ? i.gap : 0), 0);
      const trailingLoss = sent.length - 1 - sent.indexOf(kept[kept.length - 1]!); // never reported: nothing after it
      expect(gapTotal).toBe(sent.length - kept.length - trailingLoss);
      expect(jb.stats.duplicates).toBe(withCopies.length - kept.length);
      expect(jb.stats.late).toBe(0);
    });
  }
});

describe("JitterBuffer sequence restart (RFC 3550 A.1)", () => {
  test("one far-off packet is dropped as a stray; the stream goes on", () => {
    const jb = new JitterBuffer();
    expect(pushAll(jb, [100, 101, 30_000, 102])).toEqual([100, 101, 102]);
    expect(jb.stats).toMatchObject({ late: 1, resyncs: 0, lost: 0 });
  });

  test("two consecutive far-off packets restart the sequence there, after a gap marker", () => {
    const jb = new JitterBuffer();
    expect(pushAll(jb, [100, 102])).toEqual([100]);
    expect(pushAll(jb, [9000, 9001, 9002])).toEqual(["gap1", 102, "gap0", 9001, 9002]);
    expect(jb.stats).toMatchObject({ resyncs: 1, late: 1, lost: 1 });
    expect(pushAll(jb, [9004, 9003])).toEqual([9003, 9004]); // reordering still works after it
  });

  test("a step back beyond MAX_MISORDER (100) is a restart too, not 'late'", () => {
    const jb = new JitterBuffer();
    pushAll(jb, range(5000, 3));
    expect(pushAll(jb, [10, 11, 12])).toEqual(["gap0", 11, 12]);
  });
});

test("options are checked", () => {
  expect(() => new JitterBuffer({ capacity: 0 })).toThrow(/capacity must be an integer from 1 to 3000 packets, got 0/);
});

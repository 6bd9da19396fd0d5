/**
 * The demuxer fuzzed (bench/lib/mpegts/demuxFuzz.ts): 20,000 seeded inputs (noise, hand-built streams, damaged
 * fixture windows) in random chunkings, each checked for throws, bounded state and output,
 * counters that match the reports, well-formed units, and chunking-independent events.
 * A failure prints its seed, input index and replay command. `bun run bench fuzz` runs 10^6.
 */
import { describe, expect, test } from "bun:test";
import { describeFailure, fuzzDemuxer, type FuzzFailure } from "../../bench/lib/mpegts/demuxFuzz.ts";

const SEED = 20240601;
const INPUTS_PER_TEST = 5_000;
/** Each test takes 2-4 s on the shared 2-core dev machine (all four: 8 s idle, 13-16 s loaded). */
const TIMEOUT_MS = 30_000;
const PRINTED_FAILURES = 10;

describe("TsDemuxer fuzz (seed 20240601, 4 x 5,000 inputs)", () => {
  const blocks = [0, 1, 2, 3].map((n) => ({ first: n * INPUTS_PER_TEST, last: (n + 1) * INPUTS_PER_TEST - 1 }));
  test.each(blocks)("inputs $first..$last: no throw, every invariant holds", async ({ first }) => {
    const failures: FuzzFailure[] = [];
    const onFailure = (failure: FuzzFailure) => failures.push(failure);
    const counts = await fuzzDemuxer({ seed: SEED, first, inputs: INPUTS_PER_TEST, onFailure });
    for (const failure of failures.slice(0, PRINTED_FAILURES)) console.error(describeFailure(failure));
    expect(failures.map((f) => `input ${f.input}: ${f.message}`)).toEqual([]);
    // The inputs reach the demuxer's depths: units come out, damage is reported, every check ran.
    expect(counts.inputs).toBe(INPUTS_PER_TEST);
    expect(counts.units).toBeGreaterThan(INPUTS_PER_TEST);
    expect(counts.decodeErrors).toBeGreaterThan(INPUTS_PER_TEST / 2);
    expect(Math.min(counts.chunkingsCompared, counts.sourceChecked)).toBeGreaterThan(100);
  }, TIMEOUT_MS);
});

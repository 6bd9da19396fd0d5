/** The demuxer on hand-made streams: PSI cases and decode errors ffmpeg never writes. */
import { describe, expect, test } from "bun:test";
import { AUDIO_PID, audioOf, demuxAll, PMT_PID, tracksOf, VIDEO_PID, videoOf } from "./demuxHelpers.ts";
import {
  concatBytes,
  OPUS_REGISTRATION,
  opusControlHeader,
  patSection,
  pesBytes,
  pesPackets,
  pmtSection,
  psiPackets,
  tsPacket,
} from "../../bench/lib/mpegts/tsBuilders.ts";

/** Hand-made streams: counters tracked per PID. */
class StreamBuilder {
  readonly parts: Uint8Array[] = [];
  readonly #cc = new Map<number, number>();

  #take(pid: number, count: number): number {
    const first = this.#cc.get(pid) ?? 0;
    this.#cc.set(pid, (first + count) % 16);
    return first;
  }
  #add(pid: number, make: (firstCc: number) => Uint8Array[]): this {
    const packets = make(0);
    this.parts.push(...make(this.#take(pid, packets.length)));
    return this;
  }
  pat(programs: Array<[number, number]> = [[1, PMT_PID]]): this {
    return this.#add(0, (cc) => psiPackets(0, patSection(programs), cc));
  }
  pmt(o: Parameters<typeof pmtSection>[0], pid = PMT_PID): this {
    return this.#add(pid, (cc) => psiPackets(pid, pmtSection(o), cc));
  }
  video(pts: number | undefined, payload = IDR): this {
    return this.#add(VIDEO_PID, (cc) => pesPackets(VIDEO_PID, pesBytes({ pts, payload }), cc));
  }
  opus(pts: number, payload: Uint8Array): this {
    return this.#add(
      AUDIO_PID,
      (cc) => pesPackets(AUDIO_PID, pesBytes({ streamId: 0xbd, pts, payload, bounded: true }), cc),
    );
  }
  raw(packet: Uint8Array): this {
    this.parts.push(packet);
    return this;
  }
  bytes(): Uint8Array {
    return concatBytes(this.parts);
  }
}

const IDR = Uint8Array.of(0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1, 0x65, 0x88, 0x84);
const H264_AND_OPUS = {
  pcrPid: VIDEO_PID,
  streams: [{ streamType: 0x1b, pid: VIDEO_PID }, { streamType: 0x06, pid: AUDIO_PID, descriptors: OPUS_REGISTRATION }],
};
const OPUS_PES = Uint8Array.from([...opusControlHeader(1), 0xfc, ...opusControlHeader(1), 0xfc]); // 2 x 20 ms

describe("hand-made streams", () => {
  test("the first real program of the PAT is read; another program's PMT on the same PID is ignored", () => {
    const other = { ...H264_AND_OPUS, programNumber: 2, streams: [{ streamType: 0x0f, pid: 0x300 }] };
    const bytes = new StreamBuilder()
      .pat([[0, 0x10], [1, PMT_PID], [2, PMT_PID]])
      .pmt(other)
      .pmt({ ...H264_AND_OPUS, programNumber: 1 })
      .video(3000)
      .bytes();
    const { events, errors } = demuxAll([bytes]);
    expect(errors).toEqual([]);
    expect(events.map((e) => (e.type === "tracks" ? `tracks ${e.programNumber}` : e.unit.track))).toEqual([
      "tracks 1",
      "video",
    ]);
  });

  test("the PMT PID changes with the PAT", () => {
    const bytes = new StreamBuilder()
      .pat()
      .pmt(H264_AND_OPUS)
      .pat([[1, 0x1100]])
      .pmt({ ...H264_AND_OPUS, version: 3, streams: [{ streamType: 0x1b, pid: VIDEO_PID }] }, 0x1100)
      .bytes();
    const tracks = tracksOf(demuxAll([bytes]).events);
    expect(tracks.map((e) => e.type === "tracks" && [e.pmtVersion, e.tracks.length])).toEqual([[0, 2], [3, 1]]);
  });

  test("a PMT with current_next_indicator 0 is not applied yet", () => {
    const bytes = new StreamBuilder().pat().pmt({ ...H264_AND_OPUS, current: false }).video(3000).bytes();
    expect(demuxAll([bytes]).events).toEqual([]);
  });

  test("an added stream is followed from the PMT that lists it", () => {
    const bytes = new StreamBuilder()
      .pat()
      .pmt({ pcrPid: VIDEO_PID, streams: [{ streamType: 0x1b, pid: VIDEO_PID }] })
      .video(3000)
      .opus(3000, OPUS_PES) // not in the PMT yet: ignored
      .pmt({ ...H264_AND_OPUS, version: 1 })
      .opus(6600, OPUS_PES)
      .video(6000)
      .bytes();
    const { events } = demuxAll([bytes]);
    expect(events.map((e) => (e.type === "tracks" ? `tracks v${e.pmtVersion}` : `${e.unit.track} ${e.unit.pts}`)))
      .toEqual([
        "tracks v0",
        "video 3000", // an unbounded PES, let go at its stuffed last packet
        "tracks v1",
        "audio 6600",
        "audio 8400",
        "video 6000",
      ]);
  });

  test("the same PMT repeated gives one tracks event", () => {
    const b = new StreamBuilder().pat().pmt(H264_AND_OPUS);
    for (let i = 0; i < 5; i++) b.pat().pmt(H264_AND_OPUS);
    expect(tracksOf(demuxAll([b.bytes()]).events).length).toBe(1);
  });

  test("a PES without PTS: a pes error, that unit dropped", () => {
    const bytes = new StreamBuilder().pat().pmt(H264_AND_OPUS).video(3000).video(undefined).video(9000).bytes();
    const { events, errors, stats } = demuxAll([bytes]);
    expect(videoOf(events).map((u) => u.pts)).toEqual([3000, 9000]);
    expect(errors).toEqual([{ kind: "pes", pid: VIDEO_PID, message: "PID 256: PES without PTS dropped" }]);
    expect(stats.droppedUnits).toBe(1);
  });

  test("a malformed Opus control header: an opus error, the rest of that PES dropped", () => {
    const broken = Uint8Array.from([...opusControlHeader(1), 0xfc, 0x12, 0x34, ...opusControlHeader(1), 0xfc]);
    const bytes = new StreamBuilder().pat().pmt(H264_AND_OPUS).opus(0, broken).opus(3600, OPUS_PES).bytes();
    const { events, errors, stats } = demuxAll([bytes]);
    expect(audioOf(events).map((u) => u.pts)).toEqual([0, 3600, 5400]);
    expect(errors.map((e) => [e.kind, e.pid])).toEqual([["opus", AUDIO_PID]]);
    expect(errors[0]!.message).toMatch(/prefix 0x7FE0 missing at byte 4 of 10; rest of the PES dropped/);
    expect(stats.droppedUnits).toBe(1);
  });

  test("a PES that is not H.264 at all: an h264 error", () => {
    const bytes = new StreamBuilder().pat().pmt(H264_AND_OPUS).video(3000, Uint8Array.of(1, 2, 3, 4)).bytes();
    const { errors } = demuxAll([bytes]);
    expect(errors.map((e) => e.kind)).toEqual(["h264"]);
  });

  test("null packets and adaptation-only packets are skipped", () => {
    const bytes = new StreamBuilder()
      .pat()
      .pmt(H264_AND_OPUS)
      .raw(tsPacket({ pid: 0x1fff, cc: 0, payload: new Uint8Array(184).fill(0xff) }))
      .video(3000)
      .raw(tsPacket({ pid: VIDEO_PID, cc: 7, pcr: 1000 })) // adaptation only: its counter does not count
      .video(6000)
      .bytes();
    const { events, errors } = demuxAll([bytes]);
    expect(errors).toEqual([]);
    expect(videoOf(events).map((u) => u.pts)).toEqual([3000, 6000]);
  });

  test("a malformed TS packet is reported as a packet error", () => {
    const bad = tsPacket({ pid: VIDEO_PID, cc: 0, payload: Uint8Array.of(1) });
    bad[3] = bad[3]! & 0xcf; // adaptation_field_control '00'
    const { errors } = demuxAll([new StreamBuilder().pat().pmt(H264_AND_OPUS).raw(bad).bytes()]);
    expect(errors).toEqual([{ kind: "packet", message: "PID 256: adaptation_field_control '00' is reserved" }]);
  });

  test("a continuity gap on the PMT PID drops the section under way", () => {
    const section = pmtSection({
      ...H264_AND_OPUS,
      streams: Array.from({ length: 40 }, (_, i) => ({ streamType: 0x1b, pid: 0x200 + i })),
    });
    const packets = psiPackets(PMT_PID, section); // 2 packets
    const bytes = concatBytes([...new StreamBuilder().pat().parts, packets[0]!, ...psiPackets(PMT_PID, section, 5)]);
    const { events, stats, errors } = demuxAll([bytes]);
    expect(stats.continuityErrors).toBe(1);
    expect(errors.map((e) => e.kind)).toEqual(["continuity"]);
    expect(tracksOf(events).length).toBe(1); // from the intact copy after the gap
  });

  test("a packet sent three times (2.4.3.3 allows two): a continuity error, its unit still let go once", () => {
    // Found by the fuzzer (seed 11, input 1546): a PES that fits one packet came out again from its third copy.
    const b = new StreamBuilder().pat().pmt(H264_AND_OPUS).opus(0, OPUS_PES);
    const opus = b.parts.at(-1)!; // the whole PES in one packet
    b.raw(opus).raw(opus).video(3000);
    const video = b.parts.at(-1)!;
    const bytes = b.raw(video).raw(video).opus(3600, OPUS_PES).video(6000).bytes();
    const { events, errors, stats } = demuxAll([bytes]);
    expect(audioOf(events).map((u) => u.pts)).toEqual([0, 1800, 3600, 5400]);
    expect(videoOf(events).map((u) => u.pts)).toEqual([3000, 6000]);
    expect(errors.map((e) => [e.kind, e.message])).toEqual([
      ["continuity", "PID 257: a third copy of continuity_counter 0, expected 1"],
      ["continuity", "PID 256: a third copy of continuity_counter 0, expected 1"],
    ]);
    expect(stats.continuityErrors).toBe(2);
  });

  test("a PAT without programs is reported", () => {
    const { errors } = demuxAll([new StreamBuilder().pat([[0, 0x10]]).bytes()]);
    expect(errors).toEqual([{ kind: "psi", pid: 0, message: "PAT lists no program" }]);
  });
});

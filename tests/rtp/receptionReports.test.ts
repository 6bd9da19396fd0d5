import { describe, expect, test } from "bun:test";
import { compactNtp, ntpNow } from "../../lib/rtp/ntpTime.ts";
import { ReceptionReports } from "../../lib/rtp/receptionReports.ts";
import type { ReportBlock, SenderReportFields } from "../../lib/rtp/rtcpPackets.ts";

const VIDEO = 0x1111;
const AUDIO = 0x2222;

function block(fields: Partial<ReportBlock>): ReportBlock {
  return {
    ssrc: VIDEO,
    fractionLost: 0,
    cumulativeLost: 0,
    highestSequence: 0,
    jitter: 0,
    lastSenderReport: 0,
    delaySinceLastSenderReport: 0,
    ...fields,
  };
}

function senderReport(ssrc: number, atMs: number): SenderReportFields {
  return { ssrc, ntpTimestamp: ntpNow(atMs), rtpTimestamp: 0, packetCount: 0, octetCount: 0 };
}

/** A clock the test moves by hand. */
function clock(startMs = 1_700_000_000_000) {
  let now = startMs;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

describe("ReceptionReports: a viewer's RTCP report blocks on our tracks (RFC 3550 6.4.1)", () => {
  test("loss as a share, cumulative loss signed, jitter in ms at each track's clock rate", () => {
    const reports = new ReceptionReports(clock().now);
    reports.addSource(VIDEO, 90_000);
    reports.addSource(AUDIO, 48_000);
    reports.receive([
      block({ ssrc: VIDEO, fractionLost: 64, cumulativeLost: -3, jitter: 900 }),
      block({ ssrc: AUDIO, fractionLost: 0, cumulativeLost: 7, jitter: 480 }),
    ]);
    expect(reports.get(VIDEO)).toMatchObject({ fractionLost: 0.25, cumulativeLost: -3, jitterMs: 10 });
    expect(reports.get(AUDIO)).toMatchObject({ fractionLost: 0, cumulativeLost: 7, jitterMs: 10 });
  });

  test("blocks on SSRCs that are not ours are ignored", () => {
    const reports = new ReceptionReports();
    reports.addSource(VIDEO, 90_000);
    reports.receive([block({ ssrc: 0x9999, fractionLost: 255 })]);
    expect(reports.get(0x9999)).toBeUndefined();
    expect(reports.get(VIDEO)).toBeUndefined();
  });

  test("round trip = arrival - the quoted SR's sending - DLSR, from the SR the block quotes by its LSR", () => {
    const time = clock();
    const reports = new ReceptionReports(time.now);
    reports.addSource(VIDEO, 90_000);
    // The SR's NTP time is a frame's instant, 40 ms before it leaves: that age must not count.
    const sr = senderReport(VIDEO, time.now() - 40);
    reports.senderReportsSent([sr]);
    time.advance(125); // 100 ms held by the viewer (DLSR) + a 25 ms round trip
    const dlsr = 0.1 * 65536;
    reports.receive([block({ lastSenderReport: compactNtp(sr.ntpTimestamp), delaySinceLastSenderReport: dlsr })]);
    expect(reports.get(VIDEO)!.roundTripMs).toBeCloseTo(25, 6);
  });

  test("an SR sent again unchanged is quoted from its latest sending", () => {
    const time = clock();
    const reports = new ReceptionReports(time.now);
    reports.addSource(VIDEO, 90_000);
    const sr = senderReport(VIDEO, time.now());
    reports.senderReportsSent([sr]);
    time.advance(1000);
    reports.senderReportsSent([sr]); // no new frame since: the same NTP time again
    time.advance(30);
    reports.receive([block({ lastSenderReport: compactNtp(sr.ntpTimestamp), delaySinceLastSenderReport: 0 })]);
    expect(reports.get(VIDEO)!.roundTripMs).toBe(30);
  });

  test("no round trip before the viewer got an SR (LSR 0) or for an SR long forgotten; a measured one is taken instead", () => {
    const time = clock();
    const reports = new ReceptionReports(time.now);
    reports.addSource(VIDEO, 90_000);
    reports.receive([block({ lastSenderReport: 0 })]);
    expect(reports.get(VIDEO)!.roundTripMs).toBeUndefined();
    const first = senderReport(VIDEO, time.now());
    reports.senderReportsSent([first]);
    for (let i = 1; i <= 16; i++) reports.senderReportsSent([senderReport(VIDEO, time.now() + i * 1000)]);
    reports.receive([block({ lastSenderReport: compactNtp(first.ntpTimestamp) })]);
    expect(reports.get(VIDEO)!.roundTripMs).toBeUndefined();
    reports.receive([block({ lastSenderReport: 0 })], 42); // werift's own estimate, before the hand-over
    expect(reports.get(VIDEO)!.roundTripMs).toBe(42);
    reports.receive([block({ lastSenderReport: 0 })]); // a later block without one keeps the last known
    expect(reports.get(VIDEO)!.roundTripMs).toBe(42);
  });

  test("compactNtp takes the middle 32 bits", () => {
    expect(compactNtp(0x0123_4567_89ab_cdefn)).toBe(0x4567_89ab);
  });
});

import { describe, expect, test } from "bun:test";
import { compactNtp, ntpNow } from "../../lib/rtp/ntpTime.ts";
import type { ReportBlock } from "../../lib/rtp/rtcpPackets.ts";
import { ViewerQuality } from "../../lib/webrtc/viewerQuality.ts";

const VIDEO_SSRC = 1234;

function clock(startMs = 1_700_000_000_000) {
  let now = startMs;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

function videoBlock(fields: Partial<ReportBlock> = {}): ReportBlock {
  return {
    ssrc: VIDEO_SSRC,
    fractionLost: 0,
    cumulativeLost: 0,
    highestSequence: 0,
    jitter: 0,
    lastSenderReport: 0,
    delaySinceLastSenderReport: 0,
    ...fields,
  };
}

describe("ViewerQuality: what is measured of one viewer", () => {
  test("time to first packet: from creation to the first frame that sent a packet; listeners told once", () => {
    const time = clock();
    const quality = new ViewerQuality(time.now);
    const heard: number[] = [];
    quality.onFirstPacket((ms) => heard.push(ms));
    time.advance(50);
    quality.frameSent(0); // the sink dropped it (not connected yet): no packet went out
    expect(quality.timeToFirstPacketMs).toBeUndefined();
    time.advance(100);
    quality.frameSent(3);
    time.advance(30);
    quality.frameSent(5);
    expect(quality.timeToFirstPacketMs).toBe(150);
    expect(quality.framesSent).toBe(3);
    quality.onFirstPacket((ms) => heard.push(ms)); // a late listener hears it at once
    expect(heard).toEqual([150, 150]);
  });

  test("RTCP feedback counted by kind; receiver reports kept per track, the round trip from our SRs", () => {
    const time = clock();
    const quality = new ViewerQuality(time.now);
    quality.addTrack("video", VIDEO_SSRC, 90_000);
    quality.feedback({ type: "nack", senderSsrc: 1, mediaSsrc: VIDEO_SSRC, lost: [1, 2] });
    quality.feedback({ type: "pli", senderSsrc: 1, mediaSsrc: VIDEO_SSRC });
    quality.feedback({ type: "pli", senderSsrc: 1, mediaSsrc: VIDEO_SSRC });
    quality.feedback({ type: "fir", senderSsrc: 1, ssrcs: [VIDEO_SSRC] });
    expect({ nacks: quality.nacks, plis: quality.plis, firs: quality.firs }).toEqual({ nacks: 1, plis: 2, firs: 1 });
    const sr = { ssrc: VIDEO_SSRC, ntpTimestamp: ntpNow(time.now()), rtpTimestamp: 0, packetCount: 1, octetCount: 1 };
    quality.senderReportsSent([sr]);
    time.advance(10);
    const blocks = [videoBlock({ fractionLost: 128, jitter: 4500, lastSenderReport: compactNtp(sr.ntpTimestamp) })];
    quality.feedback({ type: "receiverReport", senderSsrc: 1, blocks });
    expect(quality.reception("video")).toMatchObject({ fractionLost: 0.5, jitterMs: 50, roundTripMs: 10 });
    expect(quality.reception("audio")).toBeUndefined();
    quality.receiverReport([videoBlock({ fractionLost: 0 })], 7); // werift's path, with its estimate
    expect(quality.reception("video")).toMatchObject({ fractionLost: 0, roundTripMs: 7 });
  });

  test("player reports merge; listeners see the merged report and the one before", () => {
    const time = clock();
    const quality = new ViewerQuality(time.now);
    const seen: Array<[number | undefined, number | undefined]> = [];
    quality.onPlayerReport((report, previous) => seen.push([report.stalls, previous?.timeToFirstFrameMs]));
    quality.playerReported({ timeToFirstFrameMs: 300 });
    time.advance(5000);
    quality.playerReported({ stalls: 2, stalledMs: 400 });
    expect(quality.player).toEqual({
      timeToFirstFrameMs: 300,
      stalls: 2,
      stalledMs: 400,
      reportedAt: new Date(time.now()),
    });
    expect(seen).toEqual([[undefined, undefined], [2, 300]]);
  });
});

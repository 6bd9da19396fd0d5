// What a viewer's own peer connection says about the playback (W3C webrtc-stats), as figures for the
// stats overlay and the report to the server: each rate over the time since the previous sample.

export class PlaybackStats {
  #last = undefined;

  /** Forgets the previous sample (a new peer connection starts its counters again). */
  reset() {
    this.#last = undefined;
  }

  async sample(pc, video) {
    const report = await pc.getStats();
    const now = totals(report);
    const last = this.#last;
    this.#last = now;
    const seconds = last ? (now.at - last.at) / 1000 : 0;
    const delta = (key) => (last ? now[key] - last[key] : 0);
    const perFrame = (key) => (delta("framesDecoded") > 0 ? (delta(key) / delta("framesDecoded")) * 1000 : undefined);
    const emitted = delta("jitterBufferEmittedCount");
    const jitterBufferMs = emitted > 0 ? (delta("jitterBufferDelay") / emitted) * 1000 : undefined;
    const lost = delta("packetsLost");
    const received = delta("packetsReceived");
    const figures = {
      width: now.frameWidth || video?.videoWidth || 0,
      height: now.frameHeight || video?.videoHeight || 0,
      fps: now.framesPerSecond ?? (seconds > 0 ? delta("framesDecoded") / seconds : undefined),
      bitrateKbps: seconds > 0 ? (delta("bytesReceived") * 8) / seconds / 1000 : undefined,
      rttMs: now.rttMs,
      lossPct: lost + received > 0 ? (Math.max(0, lost) / (lost + received)) * 100 : last ? 0 : undefined,
      jitterBufferMs,
      decodeMs: perFrame("totalDecodeTime"),
      framesDecoded: now.framesDecoded,
      framesDropped: now.framesDropped,
      framesReceived: now.framesReceived,
    };
    // Glass to glass cannot be measured here; what the browser adds to half the round trip is.
    figures.delayMs = figures.rttMs === undefined && jitterBufferMs === undefined
      ? undefined
      : (figures.rttMs ?? 0) / 2 + (jitterBufferMs ?? 0) + (figures.decodeMs ?? 0);
    return figures;
  }
}

/** Sums of the counters the figures come from: inbound video (and audio bytes and packets), the selected pair's RTT. */
function totals(report) {
  const t = {
    at: performance.now(),
    bytesReceived: 0,
    packetsReceived: 0,
    packetsLost: 0,
    framesDecoded: 0,
    framesDropped: 0,
    framesReceived: 0,
    jitterBufferDelay: 0,
    jitterBufferEmittedCount: 0,
    totalDecodeTime: 0,
  };
  const byId = new Map();
  report.forEach((r) => byId.set(r.id, r));
  report.forEach((r) => {
    if (r.type === "inbound-rtp") {
      t.bytesReceived += r.bytesReceived ?? 0;
      t.packetsReceived += r.packetsReceived ?? 0;
      t.packetsLost += r.packetsLost ?? 0;
    }
    if (r.type === "inbound-rtp" && r.kind === "video") {
      for (const key of ["framesDecoded", "framesDropped", "framesReceived", "jitterBufferDelay", "totalDecodeTime"]) {
        t[key] += r[key] ?? 0;
      }
      t.jitterBufferEmittedCount += r.jitterBufferEmittedCount ?? 0;
      t.frameWidth = r.frameWidth;
      t.frameHeight = r.frameHeight;
      t.framesPerSecond = r.framesPerSecond;
    }
    if (r.type === "transport" && r.selectedCandidatePairId) {
      const rtt = byId.get(r.selectedCandidatePairId)?.currentRoundTripTime;
      if (rtt !== undefined) t.rttMs = rtt * 1000;
    }
  });
  return t;
}

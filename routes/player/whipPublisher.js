// A small WHIP client (RFC 9725): POST the offer for the tracks it is given, apply the answer,
// DELETE on stop. H.264 is put first: Wisp needs it. One instance may start, stop and start again.
// It never owns the capture: whoever made the MediaStream stops its tracks.

export class WhipPublisher {
  /**
   * `token`: a publish token (PUBLISH_TOKENS), sent as a bearer token (RFC 6750 2.1); may be changed
   * between sessions. `maxBitrateKbps`: a ceiling for the video encoder (RTCRtpEncodingParameters).
   */
  constructor({ url, onState, token, maxBitrateKbps }) {
    this.url = url;
    this.token = token;
    this.maxBitrateKbps = maxBitrateKbps;
    this.onState = onState ?? (() => {});
    this.pc = undefined;
    this.location = undefined;
    this.timings = {};
  }

  #state(state, detail) {
    this.state = state;
    this.onState(state, detail);
  }

  /** Publishes `stream`'s tracks. Throws, with the server's own sentence, when the server refuses. */
  async start(stream) {
    if (this.pc) await this.stop();
    this.#state("connecting");
    const pc = new RTCPeerConnection();
    this.pc = pc;
    for (const track of stream.getTracks()) {
      const video = track.kind === "video";
      const maxBitrate = video && this.maxBitrateKbps ? this.maxBitrateKbps * 1000 : undefined;
      const transceiver = pc.addTransceiver(track, {
        direction: "sendonly",
        streams: [stream],
        ...(maxBitrate ? { sendEncodings: [{ maxBitrate }] } : {}),
      });
      if (video) preferH264(transceiver);
    }
    pc.onconnectionstatechange = () => {
      if (pc !== this.pc) return;
      const s = pc.connectionState;
      if (s === "connected") this.#state("publishing");
      if (s === "failed" || s === "closed") this.#state("error", `the connection to the server ${s}`);
    };
    await pc.setLocalDescription(await pc.createOffer());
    await gatheringComplete(pc);
    const headers = { "Content-Type": "application/sdp" };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    this.timings.post = performance.now();
    const response = await fetch(this.url, { method: "POST", headers, body: pc.localDescription.sdp });
    const body = await response.text();
    if (pc !== this.pc) {
      // Stopped while the offer was out: a session the server made is nobody's, end it.
      const resource = response.ok && response.headers.get("Location");
      if (resource) await fetch(new URL(resource, location.href), { method: "DELETE" }).catch(() => {});
      return;
    }
    if (!response.ok) {
      this.pc = undefined;
      pc.close();
      const error = new Error(`${response.status}: ${body.trim()}`);
      error.status = response.status;
      this.#state("error", error.message);
      throw error;
    }
    this.timings.answer = performance.now();
    this.location = new URL(response.headers.get("Location"), location.href).href;
    this.playbackUrl = response.headers.get("Wisp-Playback-Url");
    this.playerUrl = response.headers.get("Wisp-Player-Url");
    await pc.setRemoteDescription({ type: "answer", sdp: body });
  }

  /** Ends the session: the peer connection closes and the server is told (DELETE). */
  async stop() {
    const pc = this.pc;
    const resource = this.location;
    this.pc = undefined;
    this.location = undefined;
    pc?.close();
    if (resource) await fetch(resource, { method: "DELETE" }).catch(() => {});
    this.#state("stopped");
  }
}

function preferH264(transceiver) {
  const codecs = RTCRtpSender.getCapabilities("video")?.codecs ?? [];
  const h264 = codecs.filter((c) => c.mimeType === "video/H264" && /packetization-mode=1/.test(c.sdpFmtpLine ?? ""));
  if (h264.length && transceiver.setCodecPreferences) {
    transceiver.setCodecPreferences([...h264, ...codecs.filter((c) => !h264.includes(c))]);
  }
}

// The whole offer in one POST (no trickle needed): wait briefly for host candidates.
function gatheringComplete(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => pc.iceGatheringState === "complete" && resolve();
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, 1000);
  });
}

// A small WHIP client (RFC 9725): capture camera and microphone, POST the
// offer, apply the answer, DELETE on stop. H.264 is put first: Wisp needs it.

export class WhipPublisher {
  constructor({ url, onState, token }) {
    this.url = url;
    this.token = token;
    this.onState = onState ?? (() => {});
    this.pc = undefined;
    this.location = undefined;
    this.timings = {};
  }

  #state(state, detail) {
    this.state = state;
    this.onState(state, detail);
  }

  async start(stream) {
    this.#state("connecting");
    const pc = new RTCPeerConnection();
    this.pc = pc;
    for (const track of stream.getTracks()) {
      const transceiver = pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
      if (track.kind === "video") preferH264(transceiver);
    }
    pc.onconnectionstatechange = () => {
      const s = pc.connectionState;
      if (s === "connected") this.#state("publishing");
      if (s === "failed" || s === "closed") this.#state("ended", `connection ${s}`);
    };
    await pc.setLocalDescription(await pc.createOffer());
    await gatheringComplete(pc);
    const headers = { "Content-Type": "application/sdp" };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    this.timings.post = performance.now();
    const response = await fetch(this.url, { method: "POST", headers, body: pc.localDescription.sdp });
    const body = await response.text();
    if (!response.ok) {
      this.#state("error", `${response.status}: ${body.trim()}`);
      pc.close();
      return;
    }
    this.timings.answer = performance.now();
    this.location = new URL(response.headers.get("Location"), location.href).href;
    this.playbackUrl = response.headers.get("Wisp-Playback-Url");
    this.playerUrl = response.headers.get("Wisp-Player-Url");
    await pc.setRemoteDescription({ type: "answer", sdp: body });
  }

  async stop() {
    const pc = this.pc;
    this.pc = undefined;
    pc?.close();
    if (this.location) await fetch(this.location, { method: "DELETE" }).catch(() => {});
    this.location = undefined;
    this.#state("ended", "stopped");
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

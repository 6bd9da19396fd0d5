// A small WHEP client (draft-ietf-wish-whep): POST the offer, apply the answer,
// trickle local candidates with PATCH, DELETE on leave. Reconnects when the
// stream ends or the connection fails, so the page follows a stream that comes back.

const RETRY_MS = 1000;
const STATUS_POLL_MS = 2000;

export class WhepPlayer {
  constructor({ url, video, onState }) {
    this.url = url;
    this.video = video;
    this.onState = onState ?? (() => {});
    this.pc = undefined;
    this.location = undefined;
    this.stopped = false;
    this.attempt = 0;
    /** performance.now() marks of the current attempt: post, answer, firstFrame (for benchmarks and curious users). */
    this.timings = {};
    // The stream's status resource: how the page learns that a stream ended (a closed peer
    // connection is only noticed by the browser when ICE consent fails, ~30 s later).
    this.statusUrl = url.replace("/whep/", "/api/streams/");
  }

  start() {
    this.stopped = false;
    this.#connect();
  }

  async stop() {
    this.stopped = true;
    await this.#teardown();
  }

  #state(state, detail) {
    this.state = state;
    this.onState(state, detail);
  }

  async #connect() {
    const attempt = ++this.attempt;
    this.#state("waiting", "connecting…");
    const pc = new RTCPeerConnection();
    this.pc = pc;
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    const media = new MediaStream();
    pc.ontrack = (event) => {
      media.addTrack(event.track);
      this.video.srcObject = media;
    };
    pc.onconnectionstatechange = () => this.#onConnectionState(pc, attempt);
    this.video.onplaying = () => attempt === this.attempt && this.#state("playing");
    this.timings = {};
    this.#markFirstFrame(attempt);
    try {
      await pc.setLocalDescription(await pc.createOffer());
      this.timings.post = performance.now();
      const response = await fetch(this.url, {
        method: "POST",
        headers: { "Content-Type": "application/sdp" },
        body: pc.localDescription.sdp,
      });
      if (!response.ok) return this.#retry(attempt, `${response.status}: ${(await response.text()).trim()}`);
      this.timings.answer = performance.now();
      this.location = new URL(response.headers.get("Location"), location.href).href;
      await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
      this.#trickle(pc, attempt);
      this.#watchStream(attempt, response.headers.get("Wisp-Request-Id"));
    } catch (error) {
      this.#retry(attempt, String(error));
    }
  }

  #markFirstFrame(attempt) {
    if (!this.video.requestVideoFrameCallback) return;
    this.video.requestVideoFrameCallback(() => {
      if (attempt === this.attempt) this.timings.firstFrame = performance.now();
    });
  }

  // RFC 8840 fragments, one PATCH per gathered candidate.
  #trickle(pc, attempt) {
    const send = (candidate) => {
      if (attempt !== this.attempt || !this.location) return;
      const mid = candidate.sdpMid ?? "0";
      const body = `a=mid:${mid}\r\na=${candidate.candidate}\r\n`;
      fetch(this.location, { method: "PATCH", headers: { "Content-Type": "application/trickle-ice-sdpfrag" }, body })
        .catch(() => {});
    };
    pc.onicecandidate = (event) => event.candidate && event.candidate.candidate && send(event.candidate);
  }

  #watchStream(attempt, requestId) {
    const poll = async () => {
      if (attempt !== this.attempt || this.stopped) return;
      const response = await fetch(this.statusUrl).catch(() => undefined);
      if (attempt !== this.attempt || this.stopped) return;
      if (response?.status === 404) return this.#retry(attempt, "stream ended");
      setTimeout(poll, STATUS_POLL_MS);
    };
    this.requestId = requestId;
    setTimeout(poll, STATUS_POLL_MS);
  }

  #onConnectionState(pc, attempt) {
    if (attempt !== this.attempt) return;
    const state = pc.connectionState;
    if (state === "failed" || state === "closed" || state === "disconnected") {
      this.#retry(attempt, `stream ended (connection ${state})`);
    }
  }

  async #retry(attempt, detail) {
    if (attempt !== this.attempt || this.retired === attempt) return; // one retry per attempt
    this.retired = attempt;
    this.#state(detail.startsWith("404") || detail.startsWith("stream ended") ? "ended" : "error", detail);
    await this.#teardown();
    if (this.stopped) return;
    setTimeout(() => attempt === this.attempt && !this.stopped && this.#connect(), RETRY_MS);
  }

  async #teardown() {
    const pc = this.pc;
    const resource = this.location;
    this.pc = undefined;
    this.location = undefined;
    pc?.close();
    if (resource) await fetch(resource, { method: "DELETE" }).catch(() => {});
  }
}

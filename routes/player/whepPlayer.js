// A small WHEP client (draft-ietf-wish-whep): POST the offer, apply the answer,
// trickle local candidates with PATCH, DELETE on leave. Reconnects when the
// stream ends or the connection fails, so the page follows a stream that comes back.
// Every session it was given is DELETEd: before its next offer, on stop(), and when the page
// goes away (pagehide), so a closed tab frees its viewer place at once rather than when the
// server's ICE consent checks fail (~30 s), receiving media all that time.

const RETRY_MS = 1000;
const STATUS_POLL_MS = 2000;
const DELETE_TIMEOUT_MS = 5000; // a DELETE that hangs holds the next offer back no longer than this

export class WhepPlayer {
  /** Settles once every DELETE sent so far has been answered (or given up on): the next POST waits for it. */
  #released = Promise.resolve();

  /** `token`: a play token (PLAY_TOKENS), sent as a bearer token with the offer (RFC 6750 2.1). */
  constructor({ url, video, onState, token }) {
    this.token = token;
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
    addEventListener("pagehide", this.#onPageHide);
    this.#connect();
  }

  async stop() {
    this.stopped = true;
    this.attempt++; // whatever the current attempt still has in flight is stale from here on
    removeEventListener("pagehide", this.#onPageHide);
    await this.#teardown();
  }

  // The page is closing, reloading, navigating away or going into the back/forward cache: give the
  // viewer place back now. Nothing awaited here would finish, but stop() sends its DELETE
  // synchronously as a keepalive request, which outlives the page (sendBeacon can only POST).
  // A page restored from the cache (persisted) plays again.
  #onPageHide = (event) => {
    if (this.stopped) return;
    this.stop();
    if (event.persisted) addEventListener("pageshow", () => this.start(), { once: true });
  };

  #state(state, detail) {
    this.state = state;
    this.onState(state, detail);
  }

  async #connect() {
    const attempt = ++this.attempt;
    this.#state("waiting", "connecting…");
    this.#teardown(); // a session left from before (start() twice) is released like any other
    await this.#released; // the server has the old session's DELETE before it sees this POST
    if (attempt !== this.attempt) return;
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
        headers: {
          "Content-Type": "application/sdp",
          ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}),
        },
        body: pc.localDescription.sdp,
      });
      const resource = response.ok ? new URL(response.headers.get("Location"), location.href).href : undefined;
      // Stopped or superseded while the offer was out: this session is nobody's, end it.
      if (attempt !== this.attempt) return resource && this.#release(resource);
      if (!resource) return this.#retry(attempt, `${response.status}: ${(await response.text()).trim()}`);
      this.timings.answer = performance.now();
      this.location = resource;
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

  #retry(attempt, detail) {
    if (attempt !== this.attempt || this.retired === attempt) return; // one retry per attempt
    this.retired = attempt;
    this.#state(detail.startsWith("404") || detail.startsWith("stream ended") ? "ended" : "error", detail);
    this.#teardown(); // the next attempt's POST waits for this DELETE (#connect)
    if (this.stopped) return;
    setTimeout(() => attempt === this.attempt && !this.stopped && this.#connect(), RETRY_MS);
  }

  /** Ends the current session: its DELETE is sent before this returns, then the peer connection closes. */
  #teardown() {
    const pc = this.pc;
    const resource = this.location;
    this.pc = undefined;
    this.location = undefined;
    if (resource) this.#release(resource);
    pc?.close();
    return this.#released;
  }

  #release(resource) {
    const signal = AbortSignal.timeout(DELETE_TIMEOUT_MS);
    const sent = fetch(resource, { method: "DELETE", keepalive: true, signal }).catch(() => {});
    this.#released = Promise.all([this.#released, sent]).then(() => undefined); // no value: nothing chains up
  }
}

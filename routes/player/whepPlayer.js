// A WHEP player (draft-ietf-wish-whep): POST the offer, apply the answer, trickle local candidates
// with PATCH, DELETE on leave. It says honestly what the viewer sees:
//   waiting       the offer is out and the server holds it until the stream goes live
//   connecting    answered; no frame shown yet
//   playing       frames are being shown now (each one seen by requestVideoFrameCallback)
//   reconnecting  the stream stopped (server-sent "inactive") or no new frame for 2 s, or the
//                 connection was lost: it plays on when frames come back, or offers again
//   ended         the server ended the session (its event stream ended): it offers again and
//                 plays when the stream comes back
//   not playable  the server refused, with its reason (401, 422, 429…), or frames arrive but most
//                 do not decode (H.264 with B-frames)
// It learns what happens to the stream from WHEP server-sent events (./whepEvents.js), reports its
// time to first frame and stalls to the server, and starts muted when the browser's autoplay policy
// refuses sound. Every session it was given is DELETEd: before its next offer, on stop(), and when
// the page goes away (pagehide), so a closed tab frees its viewer place at once rather than when
// the server's ICE consent checks fail (~30 s), receiving media all that time.
import { PlaybackStats } from "./playbackStats.js";
import { eventsEntryPoint, readWhepEvents } from "./whepEvents.js";

const RETRY_MS = 1000; // before offering again after an end, or a 404 (the server already waited)
const REFUSED_RETRY_MS = 5000; // after a refusal that may change (422: the stream, 429: the viewers)
const UNREACHABLE_RETRY_MS = 2000; // the server did not answer, or answered 5xx without Retry-After
const FINAL_REFUSALS = [400, 401, 403, 415]; // offering the same again cannot help
const STALL_MS = 2000; // no new frame for longer: the picture is frozen
const MIN_FRAMES_TO_JUDGE = 5; // frames received in a second before their decoding is judged
const MONITOR_MS = 500;
const STATS_EVERY_TICKS = 2; // the stats overlay is refreshed every second
const REPORT_EVERY_MS = 10_000;
const DELETE_TIMEOUT_MS = 5000; // a DELETE that hangs holds the next offer back no longer than this
const HISTORY_SIZE = 100;
const EVENT_TYPES = ["active", "inactive", "viewercount", "reconnect"];

export class WhepPlayer {
  /** Settles once every DELETE sent so far has been answered (or given up on): the next POST waits for it. */
  #released = Promise.resolve();
  /** The current attempt: its peer connection, session resource, event stream, timers and what was seen. */
  #session = undefined;
  #stats = new PlaybackStats();

  /**
   * `token`: a play token (PLAY_TOKENS), sent as a bearer token with the offer (RFC 6750 2.1).
   * `onState(state, detail)`, `onStats(figures)`, `onMuted()`: what the page shows.
   */
  constructor({ url, video, onState, onStats, onMuted, token }) {
    this.url = url;
    this.video = video;
    this.token = token;
    this.onState = onState ?? (() => {});
    this.onStats = onStats ?? (() => {});
    this.onMuted = onMuted ?? (() => {});
    this.pc = undefined;
    this.location = undefined;
    this.stopped = false;
    this.attempt = 0;
    /** performance.now() marks of the current attempt: post, answer, firstFrame (for benchmarks and curious users). */
    this.timings = {};
    /** States as they changed ({state, detail, at}) and server-sent events as they came ({type, data, at}). */
    this.history = [];
    this.events = [];
    this.viewerCount = undefined;
    this.stats = undefined;
    if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(this.#onFrame);
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
    const session = this.#session;
    this.#session = undefined;
    if (session) this.#teardown(session);
    await this.#released;
  }

  /** Sound on (call it from a click: the autoplay policy lets sound start on a user gesture). */
  unmute() {
    this.video.muted = false;
    return this.video.play();
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
    if (state === this.state && detail === this.detail) return;
    this.state = state;
    this.detail = detail;
    this.history.push({ state, detail, at: performance.now() });
    if (this.history.length > HISTORY_SIZE) this.history.shift();
    this.onState(state, detail);
  }

  async #connect() {
    const s = { attempt: ++this.attempt, frames: 0, stalls: 0, stalledMs: 0, ticks: 0, timers: [] };
    if (this.#session) this.#teardown(this.#session); // a session left from before (start() twice)
    this.#session = s;
    if (!["ended", "reconnecting", "not playable"].includes(this.state)) {
      this.#state("waiting", "waiting for the stream to go live");
    }
    await this.#released; // the server has the old session's DELETE before it sees this POST
    if (s !== this.#session) return;
    const pc = new RTCPeerConnection();
    Object.assign(s, { pc });
    this.pc = pc;
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    const media = new MediaStream();
    pc.ontrack = (event) => {
      media.addTrack(event.track);
      this.video.srcObject = media;
      this.#play();
    };
    pc.onconnectionstatechange = () => this.#onConnectionState(s);
    this.timings = {};
    this.#stats.reset();
    try {
      await pc.setLocalDescription(await pc.createOffer());
      s.postedAt = this.timings.post = performance.now();
      const headers = { "Content-Type": "application/sdp" };
      if (this.token) headers.Authorization = `Bearer ${this.token}`;
      const response = await fetch(this.url, { method: "POST", headers, body: pc.localDescription.sdp });
      const resource = response.status === 201 ? new URL(response.headers.get("Location"), location.href).href : "";
      // Stopped or superseded while the offer was out: this session is nobody's, end it.
      if (s !== this.#session) return resource && this.#release(resource);
      if (!resource) return await this.#refused(s, response);
      await this.#answered(s, response, resource);
    } catch (error) {
      // fetch() fails with a TypeError when there is no answer at all; anything else is the negotiation's.
      const why = error instanceof TypeError ? `cannot reach the server (${error.message})` : String(error);
      this.#endSession(s, "reconnecting", why, UNREACHABLE_RETRY_MS);
    }
  }

  async #answered(s, response, resource) {
    s.location = this.location = resource;
    this.timings.answer = performance.now();
    this.requestId = response.headers.get("Wisp-Request-Id");
    const answer = await response.text();
    s.videoExpected = receivesVideo(answer);
    await s.pc.setRemoteDescription({ type: "answer", sdp: answer });
    if (s !== this.#session) return;
    this.#state("connecting", "waiting for the first frame");
    this.#trickle(s);
    this.#listen(s, eventsEntryPoint(response));
    s.timers.push(setInterval(() => this.#tick(s), MONITOR_MS));
  }

  /** A refusal: the server's own sentence is shown; it offers again unless that cannot help. */
  async #refused(s, response) {
    const status = response.status;
    const detail = `${status}: ${(await response.text()).trim()}`;
    const retryAfterMs = Number(response.headers.get("Retry-After")) * 1000 || undefined;
    if (status === 404 || status === 408) {
      return this.#endSession(s, this.state === "ended" ? "ended" : "waiting", detail, RETRY_MS);
    }
    if (status >= 500) return this.#endSession(s, "reconnecting", detail, retryAfterMs ?? UNREACHABLE_RETRY_MS);
    const final = FINAL_REFUSALS.includes(status);
    this.#endSession(s, "not playable", detail, final ? null : retryAfterMs ?? REFUSED_RETRY_MS);
  }

  // Muted media may start by itself under every browser's default autoplay policy; media with sound
  // may not. Refused with sound, it starts muted and the page offers to unmute.
  #play() {
    this.video.play().catch((error) => {
      if (error?.name !== "NotAllowedError" || this.video.muted) return;
      this.video.muted = true;
      this.onMuted();
      this.video.play().catch(() => {});
    });
  }

  /** Each frame the video element shows: the only proof that the picture moves. */
  #onFrame = () => {
    const s = this.#session;
    if (s?.pc && !s.over) this.#progress(s);
    this.video.requestVideoFrameCallback(this.#onFrame);
  };

  #progress(s) {
    s.lastProgressAt = performance.now();
    s.frames++;
    if (s.firstFrameAt !== undefined) return;
    s.firstFrameAt = this.timings.firstFrame = s.lastProgressAt;
    this.#report(s);
    s.timers.push(setInterval(() => this.#report(s), REPORT_EVERY_MS));
  }

  #tick(s) {
    if (s !== this.#session || s.over) return;
    const now = performance.now();
    // Audio only (or no requestVideoFrameCallback): the element's clock moves only while it plays.
    if ((!s.videoExpected || !this.video.requestVideoFrameCallback) && this.video.currentTime !== s.lastTime) {
      if (s.lastTime !== undefined) this.#progress(s);
      s.lastTime = this.video.currentTime;
    }
    const since = s.lastProgressAt === undefined ? Infinity : now - s.lastProgressAt;
    if (since > STALL_MS && s.lastProgressAt !== undefined && s.stallSince === undefined) {
      s.stalls++;
      s.stallSince = s.lastProgressAt;
    }
    if (since <= STALL_MS && s.stallSince !== undefined) {
      s.stalledMs += now - s.stallSince;
      s.stallSince = undefined;
      this.#report(s); // the server hears of a stall once it is over, not only at the next 10 s
    }
    // Until the server says "active" again, frames still in the pipeline are the tail of what stopped.
    if (s.inactive) this.#state("reconnecting", "the stream stopped; waiting for it to come back");
    else if (s.undecodable) this.#state("not playable", s.undecodable);
    else if (since <= STALL_MS) this.#state("playing", s.videoExpected ? undefined : "audio only");
    else if (s.lastProgressAt !== undefined) {
      this.#state("reconnecting", `no new frame for ${Math.floor(since / 1000)} s`);
    }
    if (++s.ticks % STATS_EVERY_TICKS === 0) this.#sampleStats(s);
  }

  async #sampleStats(s) {
    const figures = await this.#stats.sample(s.pc, this.video).catch(() => undefined);
    if (!figures || s !== this.#session) return;
    this.#checkDecoding(s, figures);
    this.stats = { ...figures, viewers: this.viewerCount, stalls: s.stalls };
    this.onStats(this.stats);
  }

  // Frames that arrive but do not decode make a picture that moves once a GOP: H.264 with B-frames
  // over WebRTC decodes only its keyframes in browsers. Said after two such seconds in a row.
  #checkDecoding(s, { framesReceived, framesDecoded }) {
    const received = framesReceived - (s.counted?.framesReceived ?? 0); // a new connection counts from 0
    const decoded = framesDecoded - (s.counted?.framesDecoded ?? 0);
    s.counted = { framesReceived, framesDecoded };
    const poor = received >= MIN_FRAMES_TO_JUDGE && decoded < received / 2;
    s.poorSeconds = poor ? (s.poorSeconds ?? 0) + 1 : 0;
    s.undecodable = s.poorSeconds >= 2
      ? `only ${decoded} of the last ${received} frames decoded: H.264 with B-frames? (encode with -bf 0)`
      : undefined;
  }

  /** Tells the server what this viewer saw (POST {session}/report; a server without it answers 404). */
  #report(s) {
    if (s !== this.#session || s.over || !s.location) return;
    const stalledMs = s.stalledMs + (s.stallSince === undefined ? 0 : performance.now() - s.stallSince);
    const figures = {
      timeToFirstFrameMs: s.firstFrameAt - s.postedAt,
      stalls: s.stalls,
      stalledMs,
      framesDecoded: this.stats?.framesDecoded,
      framesDropped: this.stats?.framesDropped,
      rttMs: this.stats?.rttMs,
    };
    const body = Object.fromEntries(
      Object.entries(figures).filter(([, v]) => Number.isFinite(v)).map(([k, v]) => [k, Math.round(v)]),
    );
    fetch(`${s.location}/report`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    })
      .catch(() => {});
  }

  /** Server-sent events for this session, if the server offers them; their end is the session's end. */
  #listen(s, entryPoint) {
    if (!entryPoint) return; // no extension: the frames and the connection state tell what happens
    s.events = new AbortController();
    const onEvent = (type, data) => this.#onEvent(s, type, data);
    readWhepEvents(entryPoint, EVENT_TYPES, { signal: s.events.signal, onEvent }).then(
      () => this.#endSession(s, "ended", s.inactive ? "the stream ended" : "the server ended this session"),
      (error) => s.events.signal.aborted || (s.eventsFailed = String(error?.message ?? error)),
    );
  }

  #onEvent(s, type, data) {
    if (s !== this.#session || s.over) return;
    this.events.push({ type, data, at: performance.now() });
    if (this.events.length > HISTORY_SIZE) this.events.shift();
    if (type === "active") s.inactive = false;
    if (type === "inactive") {
      s.inactive = true;
      this.#state("reconnecting", "the stream stopped; waiting for it to come back");
    }
    if (type === "viewercount") this.viewerCount = data?.viewercount;
    if (type === "reconnect") {
      if (typeof data?.url === "string") this.url = new URL(data.url, location.href).href; // the draft: offer there
      this.#endSession(s, "reconnecting", "the server asked to reconnect", 0);
    }
  }

  #onConnectionState(s) {
    const state = s.pc.connectionState;
    if (state !== "failed" && state !== "closed") return; // "disconnected" may pass: the frames tell
    this.#endSession(s, s.inactive ? "ended" : "reconnecting", s.inactive ? "the stream ended" : `connection ${state}`);
  }

  // RFC 8840 fragments, one PATCH per gathered candidate.
  #trickle(s) {
    s.pc.onicecandidate = ({ candidate }) => {
      if (!candidate?.candidate || s !== this.#session || s.over) return;
      const body = `a=mid:${candidate.sdpMid ?? "0"}\r\na=${candidate.candidate}\r\n`;
      const headers = { "Content-Type": "application/trickle-ice-sdpfrag" };
      fetch(s.location, { method: "PATCH", headers, body }).catch(() => {});
    };
  }

  /** Ends the session once: shows why, releases it, and offers again after `retryMs` (null: not again). */
  #endSession(s, state, detail, retryMs = RETRY_MS) {
    if (s !== this.#session || s.over) return;
    this.#state(state, detail);
    this.#teardown(s);
    if (retryMs === null || this.stopped) return;
    s.timers.push(setTimeout(() => s === this.#session && !this.stopped && this.#connect(), retryMs));
  }

  /** Releases a session: its DELETE is sent before this returns, then its peer connection closes. */
  #teardown(s) {
    s.over = true;
    for (const timer of s.timers.splice(0)) clearInterval(timer); // timeouts too: one list of timers (HTML 8.6)
    s.events?.abort();
    if (s.location && !s.released) this.#release(s.location);
    s.released = true;
    s.pc?.close();
    if (this.pc === s.pc) this.pc = this.location = undefined;
  }

  #release(resource) {
    const signal = AbortSignal.timeout(DELETE_TIMEOUT_MS);
    const sent = fetch(resource, { method: "DELETE", keepalive: true, signal }).catch(() => {});
    this.#released = Promise.all([this.#released, sent]).then(() => undefined); // no value: nothing chains up
  }
}

/** Whether the answer accepts video (an m=video section not rejected with port 0, nor inactive). */
function receivesVideo(answerSdp) {
  const video = answerSdp.split(/\r?\nm=/).find((section) => section.startsWith("video "));
  return !!video && !/^video 0 /.test(video) && !/\r?\na=inactive/.test(video);
}

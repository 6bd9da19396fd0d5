// The player page (/play/{stream}): a WhepPlayer on the page's <video>, its state in the header,
// a stats overlay, sound, fullscreen, picture in picture, and what to copy to play it elsewhere.
import { WhepPlayer } from "/player/whepPlayer.js";

const $ = (id) => document.getElementById(id);
const name = decodeURIComponent(location.pathname.split("/").pop());
const token = new URLSearchParams(location.search).get("token") ?? undefined; // /play/{stream}?token=… with PLAY_TOKENS
const whepUrl = `${location.origin}/whep/${encodeURIComponent(name)}`;
const video = $("video");
document.title = `${name} · Wisp`;
$("name").textContent = name;

const player = new WhepPlayer({
  url: whepUrl,
  token,
  video,
  onState(state, detail) {
    $("state").dataset.state = state;
    $("state").textContent = state;
    $("detail").textContent = detail ?? "";
    $("overlay").classList.toggle("stale", state !== "playing");
  },
  onStats: showStats,
  onMuted: showSound,
});
globalThis.wispPlayer = player; // for tests and the curious
player.start();

// Sound: the page starts muted (so it plays at once); a click is the gesture that allows sound.
function showSound() {
  $("sound").textContent = video.muted ? "Unmute" : "Mute";
  $("unmute").hidden = !video.muted;
}
async function toggleSound() {
  if (video.muted) await player.unmute().catch(() => {});
  else video.muted = true;
  showSound();
}
$("sound").onclick = toggleSound;
$("unmute").onclick = toggleSound;
video.addEventListener("volumechange", showSound);
showSound();

$("fullscreen").onclick = () => {
  if (document.fullscreenElement) return document.exitFullscreen();
  return $("stage").requestFullscreen?.() ?? video.webkitEnterFullscreen?.();
};
$("pip").hidden = !document.pictureInPictureEnabled;
$("pip").onclick = () =>
  document.pictureInPictureElement ? document.exitPictureInPicture() : video.requestPictureInPicture();

$("toggleStats").onclick = () => {
  $("overlay").hidden = !$("overlay").hidden;
  $("toggleStats").textContent = $("overlay").hidden ? "Show stats" : "Hide stats";
};

/** The overlay: what the browser's own statistics say about this playback. */
function showStats(s) {
  const rows = [
    ["resolution", s.width ? `${s.width}×${s.height}` : "–"],
    ["frame rate", fixed(s.fps, 0, " fps")],
    ["bitrate", fixed(s.bitrateKbps, 0, " kbit/s")],
    ["round trip", fixed(s.rttMs, 0, " ms")],
    ["loss", fixed(s.lossPct, 1, " %")],
    ["est. delay", fixed(s.delayMs, 0, " ms")],
    ["viewers", s.viewers === undefined ? "–" : String(s.viewers)],
  ];
  $("overlay").replaceChildren(...rows.flatMap(([term, value]) => [element("dt", term), element("dd", value)]));
  $("overlay").classList.toggle("stale", player.state !== "playing");
}

function fixed(value, digits, unit) {
  return Number.isFinite(value) ? `${value.toFixed(digits)}${unit}` : "–";
}

function element(tag, text) {
  const el = document.createElement(tag);
  el.textContent = text;
  return el;
}

// What to copy: the WHEP URL for any WHEP player, and an <iframe> of this page for a web page.
const embed = `<iframe src="${location.origin}/play/${encodeURIComponent(name)}${token ? location.search : ""}" ` +
  `width="640" height="360" allow="autoplay; fullscreen; picture-in-picture" allowfullscreen style="border:0"></iframe>`;
$("copyUrl").onclick = () => copy(whepUrl, "WHEP URL");
$("copyEmbed").onclick = () => copy(embed, "embed code");

/** The clipboard API needs a secure context (HTTPS or localhost): elsewhere the text is selected for Ctrl+C. */
async function copy(text, what) {
  try {
    await navigator.clipboard.writeText(text);
    $("copied").textContent = `${what} copied`;
  } catch {
    const field = Object.assign(document.createElement("input"), { value: text, readOnly: true, size: 60 });
    $("copied").replaceChildren(`${what}: `, field);
    field.select();
  }
}

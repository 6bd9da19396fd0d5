// The publish page (/publish/{stream}): choose a camera or the screen, a microphone, resolution and
// bitrate, publish over WHIP, stop (the camera is released) and start again. Every failure says what
// to do; the page also spells out this server's settings for OBS and ffmpeg.
import { WhipPublisher } from "/player/whipPublisher.js";

const $ = (id) => document.getElementById(id);
const name = decodeURIComponent(location.pathname.split("/").pop());
const params = new URLSearchParams(location.search);
const whipUrl = `${location.origin}/whip/${encodeURIComponent(name)}`;
const ingestUrl = `${location.origin}/ingest/${encodeURIComponent(name)}`;
const media = navigator.mediaDevices; // undefined outside a secure context (HTTPS or localhost)
document.title = `Publish ${name} · Wisp`;
$("name").textContent = name;
$("token").value = params.get("token") ?? "";

/** The capture being published (its tracks are stopped on Stop), for tests and the curious. */
const page = { stream: undefined, busy: false };
globalThis.wispPublishPage = page;

const publisher = new WhipPublisher({
  url: whipUrl,
  onState(state, detail) {
    $("state").dataset.state = state;
    $("state").textContent = state;
    $("detail").textContent = detail ?? "";
    if (publisher.playerUrl && state === "publishing") {
      Object.assign($("watch"), { href: publisher.playerUrl, hidden: false });
    }
    // A connection lost after the answer releases the camera too (a refusal is handled by start()).
    if (state === "error" && publisher.location && page.stream) stop(`Publishing stopped: ${detail}.`);
  },
});
globalThis.wispPublisher = publisher; // for tests and the curious

function showError(message) {
  $("error").textContent = message ?? "";
  $("error").hidden = !message;
}

function setBusy(busy) {
  page.busy = busy;
  $("start").disabled = busy || !media;
  $("stop").disabled = !busy;
  for (const field of $("choices").elements) field.disabled = busy;
}

async function start() {
  setBusy(true);
  showError();
  publisher.token = $("token").value.trim() || undefined;
  publisher.maxBitrateKbps = Number($("bitrate").value);
  const stream = await capture().catch((error) => {
    showError(error.message);
    return undefined;
  });
  if (!stream) return setBusy(false);
  page.stream = stream;
  $("preview").srcObject = stream;
  // The browser's own "Stop sharing" ends the screen track: stop publishing with it.
  for (const track of stream.getVideoTracks()) track.onended = () => stop("The screen share was ended.");
  listDevices(); // their names are readable once access was granted
  try {
    await publisher.start(stream);
  } catch (error) {
    await stop(refusal(error));
  }
}

/** Ends the publish and releases what was captured, so that the camera light goes off and Start works again. */
async function stop(why) {
  const stream = page.stream;
  page.stream = undefined;
  for (const track of stream?.getTracks() ?? []) track.stop();
  $("preview").srcObject = null;
  $("watch").hidden = true;
  await publisher.stop();
  setBusy(false);
  if (typeof why === "string") showError(why);
}

/** The chosen video source and microphone as one MediaStream; throws with a sentence a person can act on. */
async function capture() {
  const [width, height] = $("resolution").value.split("x").map(Number);
  const source = $("videoSource").value;
  const microphone = $("microphone").value;
  if (source === "none" && microphone === "none") throw new Error("Choose a video source or a microphone.");
  const tracks = [];
  try {
    if (source === "camera") tracks.push(...await cameraTracks(width, height));
    if (source === "screen") tracks.push(...await screenTracks(width, height));
    if (microphone !== "none") tracks.push(...await microphoneTracks(microphone));
  } catch (error) {
    for (const track of tracks) track.stop(); // what was already captured is released
    throw error;
  }
  return new MediaStream(tracks);
}

async function cameraTracks(width, height) {
  const deviceId = $("camera").value;
  const video = {
    width: { ideal: width },
    height: { ideal: height },
    ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
  };
  try {
    return (await media.getUserMedia({ video })).getTracks();
  } catch (error) {
    if (!["NotFoundError", "OverconstrainedError"].includes(error.name)) {
      throw new Error(captureProblem(error, "camera"));
    }
    noCamera();
    throw new Error("No camera found: choose Screen, or No video to publish the microphone alone, then Start.");
  }
}

async function screenTracks(width, height) {
  const video = { width: { ideal: width }, height: { ideal: height }, frameRate: { ideal: 30 } };
  return (await media.getDisplayMedia({ video, audio: false }).catch((error) => {
    throw new Error(captureProblem(error, "screen"));
  })).getTracks();
}

async function microphoneTracks(deviceId) {
  const audio = deviceId ? { deviceId: { exact: deviceId } } : true;
  return (await media.getUserMedia({ audio }).catch((error) => {
    throw new Error(captureProblem(error, "microphone"));
  })).getTracks();
}

function captureProblem(error, what) {
  if (error.name === "NotAllowedError") {
    return what === "screen"
      ? "Screen sharing was cancelled or is not allowed."
      : `The browser may not use the ${what}: allow it in the site settings (left of the address bar), or choose another source.`;
  }
  if (error.name === "NotFoundError") return `No ${what} found: choose another source.`;
  if (error.name === "NotReadableError") return `The ${what} is in use by another application or cannot be opened.`;
  return `The ${what} could not be used (${error.name}: ${error.message}).`;
}

/** The server's own sentence, and what to do about a missing or refused token. */
function refusal(error) {
  const sentence = /[.!?]$/.test(error.message) ? error.message : `${error.message}.`;
  if (error.status === 401 || error.status === 403) return `${sentence} Enter the publish token in the Token field.`;
  return error.status ? error.message : `Publishing failed: ${error.message}`;
}

/** Fills the camera and microphone lists; without a camera, Screen or microphone alone is chosen. */
async function listDevices() {
  const devices = await media.enumerateDevices().catch(() => []);
  const cameras = devices.filter((d) => d.kind === "videoinput");
  const microphones = devices.filter((d) => d.kind === "audioinput");
  fill($("camera"), cameras, "Camera");
  fill($("microphone"), microphones, "Microphone", "No audio");
  if (cameras.length === 0) noCamera();
}

function noCamera() {
  const option = $("videoSource").querySelector('option[value="camera"]');
  if (option.disabled) return;
  showError("No camera found: publish your screen, or the microphone alone (Video: No video).");
  option.disabled = true;
  option.textContent = "Camera (none found)";
  if ($("videoSource").value === "camera") $("videoSource").value = media.getDisplayMedia ? "screen" : "none";
}

function fill(select, devices, label, none) {
  const chosen = select.value;
  const options = devices.map((d, i) => new Option(d.label || `${label} ${i + 1}`, d.deviceId));
  if (none) options.push(new Option(none, "none"));
  select.replaceChildren(...options);
  if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
}

/** OBS and ffmpeg settings with this server's address; the token is never printed (the page may be shared on screen). */
function showSettings() {
  const token = $("token").value.trim();
  for (const el of document.querySelectorAll(".whipUrl")) el.textContent = whipUrl;
  for (const el of document.querySelectorAll(".token")) {
    el.textContent = token
      ? "your publish token (as in the Token field)"
      : "empty, unless the server sets PUBLISH_TOKENS";
  }
  const bitrate = Number($("bitrate").value);
  $("ffmpeg").textContent = "ffmpeg -re -i input.mp4 -c:v libx264 -preset veryfast -tune zerolatency -bf 0 -g 60 " +
    `-b:v ${bitrate}k -c:a libopus -ar 48000 -ac 2 -b:a 128k -f mpegts "${ingestUrl}${
      token ? "?token=YOUR_TOKEN" : ""
    }"`;
}

$("start").onclick = start;
$("stop").onclick = () => stop();
$("token").oninput = showSettings;
$("bitrate").onchange = showSettings;
$("videoSource").querySelector('option[value="screen"]').disabled = !media?.getDisplayMedia;
showSettings();
if (!media) {
  showError(
    `Browsers let a page capture a camera, microphone or screen only over HTTPS or on localhost; this page is ${location.origin}. ` +
      "Open it over HTTPS, or publish with OBS or ffmpeg (below).",
  );
  setBusy(false);
} else {
  await listDevices();
  if (params.has("autostart")) start();
}

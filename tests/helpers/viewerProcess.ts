// A separate process holding N werift WHEP viewers, for tests that make viewers
// vanish without a goodbye (SIGKILL): usage `bun viewerProcess.ts URL N`.
// Prints "ready" once every viewer received RTP.
import { whepPlay } from "./wheriftClient.ts";

const [url, count = "1"] = process.argv.slice(2);
if (!url) throw new Error("usage: viewerProcess.ts URL N");
const clients = await Promise.all(Array.from({ length: Number(count) }, () => whepPlay(url)));
await Promise.all(clients.map((c) => c.until(() => c.video.length + c.audio.length > 10, 20_000)));
console.log("ready");
setInterval(() => {}, 1 << 30); // stay until killed

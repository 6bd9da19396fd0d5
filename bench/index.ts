// `bun run bench`: every benchmark figure in one run on this machine.
import { measureAvArrival } from "./avArrival.ts";
import { formatFanout, measureFanout } from "./fanout.ts";
import { measureLiveDelay } from "./liveDelay.ts";
import { formatSendPath, measureSendPath } from "./sendPath.ts";
import { formatLiveDelay } from "./liveDelayReport.ts";
import { measureTtff } from "./ttff.ts";
import { formatViewerMemory, measureViewerMemory } from "./viewerMemory.ts";
import { measureWhipLatency } from "./whipLatency.ts";

const cpus = (await Bun.file("/proc/cpuinfo").text()).match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown CPU";
console.log(`machine: ${navigator.hardwareConcurrency} cores, ${cpus}; Bun ${Bun.version}`);
for (const gop of [2, 4]) {
  const r = await measureTtff(gop, 20);
  console.log(`ttff gop=${gop}s joins=${r.joins}: POST->first decoded frame p50 ${r.p50.toFixed(0)} ms, p95 ${r.p95.toFixed(0)} ms`);
}
// Fast start must leave no lasting delay: fast-start vs keyframe joiner 5 s after joining. The control
// (both at keyframes) and the video-only run show how much of the spread is not fast start's doing.
for (const gop of [2, 4]) console.log(formatLiveDelay(await measureLiveDelay(gop)));
console.log(formatLiveDelay(await measureLiveDelay(2, { control: true })));
console.log(formatLiveDelay(await measureLiveDelay(2, { audio: false })));
// What ffmpeg's default PES packing of audio costs, against one PES per Opus packet.
for (const options of [[], ["-pes_payload_size", "0"]]) {
  const r = await measureAvArrival(options);
  console.log(`av arrival ${options.join(" ") || "(ffmpeg defaults)"}: arrival - PTS p50 video ${r.video.p50.toFixed(0)} ms, audio ${r.audio.p50.toFixed(0)} ms (max ${r.audio.max.toFixed(0)})`);
}
const whip = await measureWhipLatency(60);
console.log(`whip: answer->first frame ${whip.answerToFirstFrame.toFixed(0)} ms; end-to-end delay p50 ${whip.delayP50.toFixed(0)} ms, p95 ${whip.delayP95.toFixed(0)} ms`);
// The floor of the per-viewer work (SRTP + batched send only), and what each part of it gains.
for (const r of await measureSendPath(100)) console.log(formatSendPath(r));
// The baseline first, in the same run: the ratio is what a noisy shared machine cannot blur.
for (const r of await measureFanout([1, 50, 100, 200], { baseline: true })) console.log(formatFanout(r));
for (const r of await measureFanout([1, 50, 100, 200])) console.log(formatFanout(r));
// The delay the server itself adds, once the source says where each picture ends (PES lengths).
for (const r of await measureFanout([1, 200], { boundedPes: true })) console.log(`with video PES lengths: ${formatFanout(r)}`);
// Memory per further viewer, with werift released after the handshake and (the baseline) kept.
for (const handOver of [false, true]) console.log(formatViewerMemory(await measureViewerMemory(50, { handOver })));

// Soak: the real server (main.ts) live for MINUTES (default 60) under a steady load, to see what
// hours do to it. ffmpeg encodes a 3 Mbit/s 1280x720 H.264 + Opus stream live from lavfi and
// pushes it as MPEG-TS over HTTP; 50 load viewers (bench/clients/headerLoadViewers.ts) watch it; every
// --restart-every seconds (default 300) a new push replaces the running one: it starts, takes the
// name over, then the old one is stopped, and the viewers follow the stream name (README: "A
// second push to a live name replaces the first"). All on loopback.
// Every 30 s one line: elapsed, the server's RSS, viewers connected, packets delivered against
// expected, viewers lost, restarts survived; at the end one JSON line (the summary, bench/lib/figureLine.ts).
// Expected = packets the stream produced (/api/streams packetsOut, summed over its push sessions)
// x the viewers. Delivered, in the 30 s lines: media datagrams the server sent (/api/udp, less the
// ICE, RTCP, repeated DTLS flights and retransmissions its viewers' links count) less those the
// viewers' sockets dropped (on loopback the only place a datagram the kernel took is lost); in
// the summary: what the viewers counted themselves (their report at the end). The JS heap is not
// in /api/streams: RSS only. Ctrl-C ends everything and still prints the summary so far.
// With --pipeline the push goes through a command pipeline (an ffmpeg `-c copy` process between
// ingest and playback, README "Pipelines"): one more process per publish, restarted with each push.
// With --pipeline=worker it goes through a runner pipeline instead: the loopback trickle copy worker
// (bench/lib/trickleCopyWorker.ts, in this process) reads Wisp's input channel and writes its output
// channel over HTTP, new channels and a new worker call with each push.
// Usage: bun run bench soak [MINUTES = 60] [--restart-every=SECONDS] [--pipeline[=copy|worker]]
import { printFigureLine } from "./lib/figureLine.ts";
import { livePush } from "./lib/livePush.ts";
import { benchPipelines } from "./lib/pipelines/benchPipelines.ts";
import { type CopyWorker, startCopyWorker } from "./lib/trickleCopyWorker.ts";
import type { LoadReport } from "./lib/loadWindow.ts";
import { rssMb } from "./lib/procStats.ts";
import { datagramsSent, streamFigures, Tally } from "./lib/soakTally.ts";
import { streamLines } from "./lib/streamLines.ts";
import { udpReceiveDrops } from "./lib/udpReceiveDrops.ts";
import { waitForHttp } from "./lib/waitForHttp.ts";

const VIEWERS = 50;
const STREAM = "soak";
const REPORT_EVERY_MS = 30_000;
const POLL_MS = 500; // the server's counters are read this often...
const FAST_POLL_MS = 50; // ...and this often while a push is replaced: less of the replaced session's end to estimate (bench/lib/soakTally.ts)
const TAKEOVER_TIMEOUT_MS = 15_000; // ffmpeg starts and its first bytes reach the server well within this
const SURVIVAL_CHECK_MS = 5000; // after a takeover the viewers must all still be there and get the new session's media:
const SURVIVAL_SHARE = 0.9; // at least this share of its packets x the viewers, sent within SURVIVAL_CHECK_MS
const STOP_GRACE_MS = 5000; // a child asked to stop gets this long before SIGKILL
// No restart this close to the end: one takes at most POLL_MS + TAKEOVER_TIMEOUT_MS + STOP_GRACE_MS + SURVIVAL_CHECK_MS.
const RESTART_MARGIN_MS = 30_000;
const ROOT = new URL("..", import.meta.url).pathname;

export interface SoakOptions {
  minutes: number;
  restartEverySeconds: number;
  /** Push through an ffmpeg `-c copy` command pipeline, or the trickle copy worker, instead of passthrough. */
  pipeline: "copy" | "worker" | undefined;
}

/** How the start line names each --pipeline choice. */
const PIPELINE_NAMES = {
  none: "",
  copy: ", through an ffmpeg -c copy pipeline",
  worker: ", through the loopback trickle copy worker",
} as const;

export interface SoakSummary {
  minutes: number;
  rssStartMB: number;
  rssEndMB: number;
  rssMaxMB: number;
  /** 100 x (1 - received / expected): everything the viewers did not get, lost viewers included. */
  lossPct: number;
  viewersLost: number;
  restarts: number;
  restartsSurvived: number;
  /** Sequence numbers the viewers never saw, in % of those they saw and missed (their own count). */
  seqLossPct?: number;
  /** Why the viewers never reported (Ctrl-C, a failure): lossPct is then the 30 s lines' figure. */
  incomplete?: string;
}

type ClientReport = LoadReport & { checked?: number; badAuth?: number };
type Child = ReturnType<typeof Bun.spawn>;
type LoadClient = ReturnType<typeof spawnLoadClient>;

/** The load viewers, measuring for `seconds` once told "go" on stdin (bench/lib/loadWindow.ts's protocol). */
function spawnLoadClient(whepUrl: string, seconds: number) {
  const script = new URL("./clients/headerLoadViewers.ts", import.meta.url).pathname;
  return Bun.spawn([process.execPath, script, whepUrl, String(VIEWERS), String(seconds), "--go-on-stdin"], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "inherit",
  });
}

/** Asks `child` to stop (`signal`), then kills it if it is still there after STOP_GRACE_MS. */
async function end(child: Child, signal: NodeJS.Signals = "SIGINT"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const gone = await Promise.race([child.exited.then(() => true), Bun.sleep(STOP_GRACE_MS).then(() => false)]);
  if (!gone) child.kill("SIGKILL");
  await child.exited;
}

async function until(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  everyMs = FAST_POLL_MS,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) return false;
    await Bun.sleep(everyMs);
  }
  return true;
}

export class Soak {
  readonly #options: SoakOptions;
  readonly #base = `http://127.0.0.1:${18000 + Math.floor(Math.random() * 1000)}`;
  readonly #children = new Set<Child>();
  readonly #tally = new Tally();
  readonly #rss = { start: 0, last: 0, max: 0 };
  #server: Child | undefined;
  /** The loopback trickle worker of --pipeline=worker, in this process. */
  #worker: CopyWorker | undefined;
  #push: Child | undefined;
  #client: LoadClient | undefined;
  #clientLines: AsyncGenerator<string> | undefined;
  #report: ClientReport | undefined;
  #finished!: () => void;
  readonly #ended = new Promise<void>((resolve) => (this.#finished = resolve));
  #interrupted = false;
  #stopping = false;
  /** Why the soak cannot go on (the server stopped answering, say): the summary says it. */
  #failure: unknown;
  #opened = 0;
  #viewers = 0;
  #drops = { atStart: 0, now: 0 };
  #pollMs = POLL_MS;
  /** The reading under way: readings go one at a time, in order (the tally adds up their differences). */
  #reading = Promise.resolve();
  #expectedAtEnd: number | undefined;
  #restarts = 0;
  #survived = 0;

  constructor(options: SoakOptions) {
    this.#options = options;
  }

  get windowOpen(): boolean {
    return this.#opened > 0;
  }

  /** Server, first push, viewers; returns once the window is open (every viewer receiving and handed over). */
  async setUp(): Promise<void> {
    const port = new URL(this.#base).port;
    if (this.#options.pipeline === "worker") this.#worker = startCopyWorker();
    this.#server = this.#spawn(Bun.spawn([process.execPath, "main.ts"], {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: port,
        HOST: "127.0.0.1",
        WEBRTC_UDP_ADDR: "127.0.0.1:0",
        WHEP_MAX_VIEWERS: "0",
        DRAIN_TIMEOUT_MS: "2000",
        LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
        ...(this.#options.pipeline ? { PIPELINES: benchPipelines({ workerUrl: this.#worker?.url }) } : {}),
      },
      stdio: ["ignore", "inherit", "inherit"],
    }));
    await waitForHttp(`${this.#base}/healthz`);
    this.#push = this.#startPush();
    if (!(await until(async () => ((await streamFigures(this.#base, STREAM))?.packetsOut ?? 0) > 0, 20_000))) {
      throw new Error("the push produced nothing in 20 s");
    }
    const client =
      (this.#client = this.#spawn(spawnLoadClient(`${this.#base}/whep/${STREAM}`, this.#options.minutes * 60)));
    this.#clientLines = streamLines(client.stdout);
    if (!(await this.#clientSays("ready"))) throw new Error("the load client ended before its viewers were ready");
    // werift hands a viewer over 4 s after connecting at the latest (these clients send no RTCP): the window opens after that.
    await until(
      async () => ((await streamFigures(this.#base, STREAM))?.viewersHandedOver ?? 0) >= VIEWERS,
      15_000,
      250,
    );
    client.stdin.write("go\n");
    client.stdin.flush();
    if (!(await this.#clientSays("window"))) throw new Error("the load client ended before its window opened");
    await this.#poll();
    this.#drops.atStart = udpReceiveDrops(client.pid);
    this.#rss.start = this.#rss.max = this.#rss.last;
    this.#opened = performance.now();
    void this.#followClient();
    const { minutes, restartEverySeconds } = this.#options;
    console.log(
      `soak: ${this.#base} (pid ${this.#server.pid}), ${VIEWERS} viewers of a 3 Mbit/s 1280x720 push, replaced every ${restartEverySeconds} s${
        PIPELINE_NAMES[this.#options.pipeline ?? "none"]
      }, for ${minutes} min; heap n/a (not in /api/streams)`,
    );
  }

  /** Until the viewers report (the window's end) or Ctrl-C: a line every 30 s, a replacement push every --restart-every. */
  async run(): Promise<void> {
    const polling = this.#pollLoop();
    const windowMs = this.#options.minutes * 60_000;
    const restartEveryMs = this.#options.restartEverySeconds * 1000;
    const restarts: Array<Promise<void>> = [];
    let [nextLine, nextRestart] = [REPORT_EVERY_MS, restartEveryMs];
    while (!this.#report && !this.#interrupted && !this.#failure && this.#client?.exitCode === null) {
      const elapsed = this.#elapsedMs();
      if (elapsed >= nextLine) {
        console.log(this.#line());
        nextLine += REPORT_EVERY_MS;
      }
      if (elapsed >= nextRestart) {
        if (elapsed < windowMs - RESTART_MARGIN_MS) restarts.push(this.#restart());
        nextRestart += restartEveryMs;
      }
      await Promise.race([Bun.sleep(250), this.#ended]);
    }
    await this.#poll().catch(this.#fail); // at once: the produced count at the window's end, against the viewers' report
    this.#expectedAtEnd = this.#tally.produced * VIEWERS;
    if (!this.#failure) console.log(this.#line());
    this.#pollMs = 0;
    await Promise.all([polling, ...restarts]);
  }

  interrupt(): void {
    this.#interrupted = true;
    this.#finished();
  }

  /** Ends everything it started: the viewers (their DELETEs), the pushes, then the server. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#pollMs = 0;
    const client = this.#client;
    if (client && client.exitCode === null && this.#report) {
      client.stdin.write("done\n"); // after its report the client ends its sessions and exits
      client.stdin.flush();
      await Promise.race([client.exited, Bun.sleep(STOP_GRACE_MS)]);
    }
    const others = [...this.#children].filter((c) => c !== this.#server);
    await Promise.all(others.map((c) => end(c)));
    if (this.#server) await end(this.#server, "SIGTERM"); // drains (DRAIN_TIMEOUT_MS) and exits
    await this.#worker?.close();
  }

  summary(): SoakSummary {
    const report = this.#report;
    const expected = this.#expectedAtEnd ?? this.#tally.produced * VIEWERS;
    const received = report ? report.packets.reduce((a, b) => a + b, 0) : this.#delivered();
    const seqLost = report ? report.lost.reduce((a, b) => a + b, 0) : 0;
    return {
      minutes: round(this.#elapsedMs() / 60_000, 2),
      rssStartMB: round(this.#rss.start, 1),
      rssEndMB: round(this.#rss.last, 1),
      rssMaxMB: round(this.#rss.max, 1),
      lossPct: round(lossPercent(received, expected), 3),
      viewersLost: VIEWERS - this.#viewers,
      restarts: this.#restarts,
      restartsSurvived: this.#survived,
      ...(report
        ? { seqLossPct: round((100 * seqLost) / Math.max(1, received + seqLost), 3) }
        : { incomplete: this.#whyIncomplete() }),
    };
  }

  #whyIncomplete(): string {
    if (this.#interrupted) return "Ctrl-C";
    if (this.#failure !== undefined) {
      return `failed: ${this.#failure instanceof Error ? this.#failure.message : String(this.#failure)}`;
    }
    return `failed: the load client ended before its report (exit ${this.#client?.exitCode})`;
  }

  #spawn<C extends Child>(child: C): C {
    if (this.#stopping) child.kill("SIGKILL"); // Ctrl-C came while setting up
    this.#children.add(child);
    void child.exited.then(() => this.#children.delete(child));
    return child;
  }

  /** A push; one that ends by itself while it is the stream's (not replaced, not stopped) is reported with ffmpeg's last words. */
  #startPush(): Child {
    const query = this.#options.pipeline ? `?pipeline=${this.#options.pipeline}` : "";
    const push = this.#spawn(livePush(`${this.#base}/ingest/${STREAM}${query}`));
    const stderr = new Response(push.stderr).text(); // read as it comes, so ffmpeg never blocks on it
    void push.exited.then(async (code) => {
      if (push !== this.#push || this.#stopping || this.#interrupted) return; // replaced, or its end was asked for
      const said = (await stderr).trim().split("\n").slice(-3).join(" | ");
      console.log(`soak: the push ended by itself (ffmpeg exit ${code}), its viewers with it: ${said}`);
    });
    return push;
  }

  async #clientSays(expected: string): Promise<boolean> {
    for (let next = await this.#clientLines!.next(); !next.done; next = await this.#clientLines!.next()) {
      if (next.value === expected) return true;
    }
    return false;
  }

  /** The client's last words: its JSON report at the window's end, or nothing if it ended early. */
  async #followClient(): Promise<void> {
    for await (const line of this.#clientLines!) {
      if (line.startsWith("{")) this.#report = JSON.parse(line) as ClientReport;
      if (this.#report) break;
    }
    this.#finished();
  }

  async #pollLoop(): Promise<void> {
    while (this.#pollMs > 0 && !this.#failure) {
      await this.#poll().catch(this.#fail);
      await Bun.sleep(this.#pollMs);
    }
  }

  /** Ctrl-C reaches the server too (one process group): it may be gone already, which is no failure then. */
  readonly #fail = (error: unknown) => {
    this.#failure ??= error;
    this.#finished();
  };

  #poll(): Promise<void> {
    this.#reading = this.#reading.then(() => this.#read());
    return this.#reading;
  }

  async #read(): Promise<void> {
    const [stream, datagrams] = await Promise.all([streamFigures(this.#base, STREAM), datagramsSent(this.#base)]);
    if (stream) this.#tally.add(stream, datagrams, Date.now());
    this.#rss.last = rssMb(this.#server!.pid);
    this.#rss.max = Math.max(this.#rss.max, this.#rss.last);
    this.#viewers = stream?.viewers ?? 0; // no stream: its viewers were closed with it
    if (this.#client?.exitCode === null) this.#drops.now = udpReceiveDrops(this.#client.pid) - this.#drops.atStart;
  }

  /** Starts a new push, waits until it has the stream, stops the old one; then checks that the viewers followed. */
  async #restart(): Promise<void> {
    const number = ++this.#restarts;
    const before = { requestId: this.#tally.requestId, viewers: this.#viewers };
    const old = this.#push!;
    this.#pollMs = FAST_POLL_MS;
    await Bun.sleep(POLL_MS); // the poll loop reads fast from here on
    this.#push = this.#startPush();
    const tookOver = await until(() => this.#tally.requestId !== before.requestId || this.#over(), TAKEOVER_TIMEOUT_MS);
    if (this.#pollMs > 0) this.#pollMs = POLL_MS;
    await end(old);
    if (this.#over()) return;
    if (!tookOver) {
      return console.log(
        `restart ${number}: the new push did not take the stream over in ${TAKEOVER_TIMEOUT_MS / 1000} s`,
      );
    }
    const from = { produced: this.#tally.produced, sent: this.#tally.sent };
    await Promise.race([Bun.sleep(SURVIVAL_CHECK_MS), this.#ended]);
    if (this.#over()) return;
    const produced = this.#tally.produced - from.produced;
    const sent = this.#tally.sent - from.sent;
    const fed = produced > 0 && sent >= SURVIVAL_SHARE * produced * this.#viewers;
    if (fed && this.#viewers >= before.viewers) return void this.#survived++;
    console.log(
      `restart ${number} not survived: viewers ${before.viewers} -> ${this.#viewers}, sent ${sent} of ${
        produced * this.#viewers
      } media packets in ${SURVIVAL_CHECK_MS / 1000} s`,
    );
  }

  /** Ctrl-C or a failure: restarts in progress give up. */
  #over(): boolean {
    return this.#interrupted || this.#failure !== undefined;
  }

  #elapsedMs(): number {
    return this.#opened ? performance.now() - this.#opened : 0;
  }

  /** Sent media less what the viewers' sockets dropped. */
  #delivered(): number {
    return this.#tally.sent - this.#drops.now;
  }

  #line(): string {
    const seconds = Math.round(this.#elapsedMs() / 1000);
    const elapsed = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
    const expected = this.#tally.produced * VIEWERS;
    return (
      `soak ${elapsed.padStart(6)}  rss ${this.#rss.last.toFixed(1)} MB (max ${this.#rss.max.toFixed(1)})  ` +
      `viewers ${this.#viewers}/${VIEWERS} (${VIEWERS - this.#viewers} lost)  ` +
      `delivered ${this.#delivered()}/${expected} (${
        lossPercent(this.#delivered(), expected).toFixed(3)
      }% loss, ${this.#drops.now} dropped at the viewers)  ` +
      `restarts ${this.#restarts} (${this.#survived} survived)`
    );
  }
}

function lossPercent(received: number, expected: number): number {
  return expected > 0 ? (100 * (expected - received)) / expected : 0;
}

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}

function parseArgs(args: string[]): SoakOptions {
  const minutes = Number(args.find((a) => !a.startsWith("--")) ?? 60);
  const restartEverySeconds = Number(args.find((a) => a.startsWith("--restart-every="))?.split("=")[1] ?? 300);
  if (!(minutes > 0) || !(restartEverySeconds > 0)) {
    throw new Error("usage: bun run bench soak [MINUTES] [--restart-every=SECONDS]");
  }
  const pipelineArg = args.find((a) => a === "--pipeline" || a.startsWith("--pipeline="));
  const pipeline = pipelineArg === undefined
    ? undefined
    : pipelineArg === "--pipeline"
    ? "copy"
    : pipelineArg.split("=")[1];
  if (pipeline !== undefined && pipeline !== "copy" && pipeline !== "worker") {
    throw new Error(`--pipeline=${pipeline}: use --pipeline (copy) or --pipeline=worker`);
  }
  return { minutes, restartEverySeconds, pipeline };
}

export async function main(args: string[]): Promise<void> {
  const soak = new Soak(parseArgs(args));
  // Ctrl-C: once the window is open the summary so far is still printed; before, everything just ends.
  process.on("SIGINT", () => {
    if (soak.windowOpen) return soak.interrupt();
    console.log("soak: Ctrl-C while setting up, nothing measured");
    void soak.stop().then(() => process.exit(130));
  });
  try {
    await soak.setUp();
    await soak.run();
  } finally {
    await soak.stop();
  }
  const summary = soak.summary();
  printFigureLine("soak", args, summary);
  process.exit(summary.incomplete?.startsWith("failed") ? 1 : 0);
}

if (import.meta.main) await main(process.argv.slice(2));

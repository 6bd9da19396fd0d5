/**
 * A loopback live-video worker with ai-runner's API that processes nothing:
 * it answers `POST /live-video-to-video` as ai-runner does, then subscribes
 * to `subscribe_url` (from seq -2, as ai-runner's TrickleSubscriber) and
 * publishes each input segment unchanged to `publish_url`, chunk by chunk as
 * it arrives; it posts a JSON event to `events_url` and records what comes
 * on `control_url`. For the runner pipeline's tests and the benchmark's
 * "trickle worker" figure (Wisp's own trickle clients, over real HTTP).
 */
import { type HttpServer, serveHttp } from "../../lib/runtime/httpServer.ts";
import { TricklePublisher } from "../../lib/trickle/tricklePublisher.ts";
import { TrickleSubscriber } from "../../lib/trickle/trickleSubscriber.ts";

export interface CopyWorkerOptions {
  /** When set, a start request needs `Authorization: Bearer {token}` (ai-runner's AUTH_TOKEN), else 401. */
  token?: string;
}

/** One start request as the worker received it. */
export interface CopyWorkerJob {
  body: Record<string, unknown>;
  authorization: string | null;
  /** Input segments copied to the output so far. */
  segmentsCopied: number;
  /** Control messages received (keepalives included), parsed. */
  control: unknown[];
  /** Settles when the job ended: its input closed, or the worker was closed. */
  done: Promise<void>;
}

export interface CopyWorker {
  /** Base URL to name as a pipeline's `"runner"`. */
  url: string;
  /** Every start request, accepted or not, in order. */
  requests: Array<{ body: unknown; authorization: string | null; status: number }>;
  jobs: CopyWorkerJob[];
  /** Stops serving and ends every job (its subscriptions and publications). */
  close(): Promise<void>;
}

export function startCopyWorker(options: CopyWorkerOptions = {}): CopyWorker {
  const requests: CopyWorker["requests"] = [];
  const jobs: CopyWorkerJob[] = [];
  const stopJobs: Array<() => void> = [];
  const answer = (status: number, detail: unknown) => Response.json(status === 200 ? {} : { detail }, { status });
  const http: HttpServer = serveHttp(async (request) => {
    if (new URL(request.url).pathname !== "/live-video-to-video" || request.method !== "POST") {
      return answer(404, { msg: "not found" });
    }
    const authorization = request.headers.get("Authorization");
    const body = await request.json().catch(() => undefined);
    const record = (status: number) => requests.push({ body, authorization, status });
    if (options.token && authorization !== `Bearer ${options.token}`) {
      record(401);
      return answer(401, { msg: "Invalid bearer token." });
    }
    if (!isStartRequest(body)) {
      record(400);
      return answer(400, { msg: "subscribe_url and publish_url are required" });
    }
    record(200);
    const job = runJob(body, authorization);
    jobs.push(job.job);
    stopJobs.push(job.stop);
    return answer(200, undefined);
  }, { port: 0, hostname: "127.0.0.1" });
  return {
    url: `http://127.0.0.1:${http.port}`,
    requests,
    jobs,
    async close() {
      for (const stop of stopJobs) stop();
      await Promise.all(jobs.map((job) => job.done));
      await http.stop(true);
    },
  };
}

type StartRequest = Record<string, unknown> & { subscribe_url: string; publish_url: string };

function isStartRequest(body: unknown): body is StartRequest {
  const b = body as Record<string, unknown> | undefined;
  return typeof b?.subscribe_url === "string" && typeof b.publish_url === "string";
}

/** Copies input segments to the output until the input ends (or stop()), then closes the output (DELETE). */
function runJob(body: StartRequest, authorization: string | null): { job: CopyWorkerJob; stop: () => void } {
  const input = new TrickleSubscriber(body.subscribe_url, { start: -2 });
  const output = new TricklePublisher(body.publish_url, { mimeType: "video/mp2t" });
  const control = typeof body.control_url === "string"
    ? new TrickleSubscriber(body.control_url, { start: -2 })
    : undefined;
  const events = typeof body.events_url === "string"
    ? new TricklePublisher(body.events_url, { mimeType: "application/json" })
    : undefined;
  const job: CopyWorkerJob = { body, authorization, segmentsCopied: 0, control: [], done: Promise.resolve() };
  const copy = async () => {
    await events?.writeSegment(json({ type: "copy_worker_started", stream_id: body.stream_id ?? null }));
    for (let segment = await input.next(); segment; segment = await input.next()) {
      const post = output.next();
      const reader = segment.body.getReader();
      for (let r = await reader.read(); !r.done; r = await reader.read()) post.write(r.value);
      await post.end();
      job.segmentsCopied++;
    }
  };
  const readControl = async () => {
    for (let segment = await control?.next(); segment; segment = await control?.next()) {
      job.control.push(JSON.parse(await new Response(segment.body).text()));
    }
  };
  const ended = (what: string) => (error: unknown) => {
    // The input or control channel going away while a request is open is how a job ends: not worth a throw.
    if (!String(error).includes("abort")) console.error(`copy worker: ${what} failed: ${error}`);
  };
  const controlDone = readControl().catch(ended("reading control"));
  job.done = copy().catch(ended("copying")).then(async () => {
    control?.close();
    await controlDone;
    await output.close();
    await events?.close();
  });
  return {
    job,
    stop: () => {
      input.close();
      control?.close();
    },
  };
}

function json(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

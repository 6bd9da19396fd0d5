/**
 * The call that starts a live-video worker, as go-livepeer's orchestrator
 * makes it (server/ai_http.go, ai/worker LiveVideoToVideoParams) and
 * ai-runner answers it (runner/app/routes/live_video_to_video.py):
 * `POST {runner}/live-video-to-video` with the trickle URLs, optional
 * `Authorization: Bearer` (the worker's AUTH_TOKEN); a 2xx means it started.
 */

/** The JSON body (field names as ai-runner's LiveVideoToVideoParams). */
export interface LiveVideoToVideoRequest {
  /** The input channel: the worker reads (subscribes to) the publisher's segments here. */
  subscribe_url: string;
  /** The output channel: the worker writes (publishes) its processed segments here. */
  publish_url: string;
  /** The worker reads param updates here (JSON segments; {"keep":"alive"} is ignored). */
  control_url: string;
  /** The worker writes its events here (JSON segments). */
  events_url: string;
  /** "" lets the worker run its own pipeline; another name it does not run gets a 400. */
  model_id: string;
  params: Record<string, unknown>;
  /** For the worker's logs: Wisp's request ID of the publish. */
  gateway_request_id: string;
  /** For the worker's logs: this attempt, "{requestId}-{attempt}". */
  manifest_id: string;
  /** For the worker's logs: the stream name. */
  stream_id: string;
}

export interface RunnerStartOptions {
  /** Base URL of the worker, no trailing slash. */
  runner: string;
  token: string | undefined;
  /** How long the worker has to answer (RUNNER_START_TIMEOUT_MS). */
  timeoutMs: number;
  /** Aborts the call (the attempt was stopped meanwhile). */
  signal: AbortSignal;
}

/** What the worker's answer may say when it refuses: its first bytes are enough for a log line. */
const MAX_REASON_BYTES = 300;

/** Starts the worker; resolves once it answered 2xx, throws an Error saying why it did not (its status and words, a timeout, no connection). */
export async function startRunner(request: LiveVideoToVideoRequest, options: RunnerStartOptions): Promise<void> {
  const url = `${options.runner}/live-video-to-video`;
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), options.timeoutMs);
  const stop = () => timeout.abort();
  options.signal.addEventListener("abort", stop);
  const failure = (error: Error) => {
    if (options.signal.aborted) return new Error(`the start of runner ${url} was given up: the attempt stopped`);
    if (timeout.signal.aborted) {
      return new Error(`runner ${url} did not answer within ${options.timeoutMs} ms (RUNNER_START_TIMEOUT_MS)`);
    }
    return new Error(`runner ${url} could not be reached: ${error.message}`);
  };
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
      },
      body: JSON.stringify(request),
      signal: timeout.signal,
    }).catch((error: Error) => {
      throw failure(error);
    });
    if (response.ok) return void response.body?.cancel().catch(() => {});
    throw new Error(`runner ${url} answered ${response.status}: ${await firstWords(response)}`);
  } finally {
    clearTimeout(timer);
    options.signal.removeEventListener("abort", stop);
  }
}

/** The start of a response's text, without reading more of it. */
async function firstWords(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return "";
  const { value } = await reader.read().catch(() => ({ value: undefined }));
  reader.cancel().catch(() => {});
  return new TextDecoder().decode(value?.subarray(0, MAX_REASON_BYTES)).trim();
}

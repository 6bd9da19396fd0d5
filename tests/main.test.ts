import { expect, test } from "bun:test";
import { readFixture } from "./fixtures/readFixture.ts";

// main.ts as the Dockerfile and the README run it: `bun run main.ts`.
const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** JSON log lines of a process, awaited by message. */
function logLines(stream: ReadableStream<Uint8Array>) {
  const lines: Array<Record<string, string>> = [];
  const waiting = new Set<() => void>(); // finds woken by each chunk read
  const reading = (async () => {
    let buffered = "";
    const reader = stream.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      buffered += new TextDecoder().decode(r.value);
      for (let i = buffered.indexOf("\n"); i >= 0; i = buffered.indexOf("\n")) {
        lines.push(JSON.parse(buffered.slice(0, i)));
        buffered = buffered.slice(i + 1);
      }
      for (const wake of waiting) wake();
      waiting.clear();
    }
  })();
  return {
    async find(msg: string): Promise<Record<string, string>> {
      for (;;) {
        const line = lines.find((l) => l.msg === msg);
        if (line) return line;
        const more = await Promise.race([
          reading.then(() => "ended"),
          new Promise((wake) => waiting.add(() => wake("read"))),
        ]);
        if (more === "ended" && !lines.some((l) => l.msg === msg)) throw new Error(`no "${msg}" log line`);
      }
    },
  };
}

test("bun run main.ts serves /healthz, holds its UDP port, and stops cleanly on SIGTERM", async () => {
  const proc = Bun.spawn([process.execPath, "run", MAIN], {
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", WEBRTC_UDP_ADDR: "127.0.0.1:0", LOG_LEVEL: "info" },
    stdout: "pipe",
    stderr: "inherit",
  });
  try {
    const log = logLines(proc.stdout);
    const udp = await log.find("webrtc media on one UDP port");
    expect(Number(udp.port)).toBeGreaterThan(0);
    const listening = await log.find("wisp listening");
    const res = await fetch(new URL("/healthz", listening.url!));
    expect(res.status).toBe(200);
    const port = new URL(listening.url!).port;
    expect((await log.find("push MPEG-TS")).example).toContain(`-f mpegts http://127.0.0.1:${port}/ingest/cam1`);
    expect(await log.find("publish with WHIP")).toMatchObject({ obs: `http://127.0.0.1:${port}/whip/cam1` });
    expect(await log.find("watch")).toMatchObject({ player: `http://127.0.0.1:${port}/play/cam1` });
  } finally {
    proc.kill("SIGTERM");
  }
  expect(await proc.exited).toBe(0);
});

test("a bad setting stops start-up with a message naming the variable", async () => {
  const proc = Bun.spawn([process.execPath, "run", MAIN], {
    env: { ...process.env, PORT: "0", WEBRTC_PUBLIC_IPS: "not-an-ip" },
    stdout: "ignore",
    stderr: "pipe",
  });
  expect(await proc.exited).toBe(2);
  expect(await new Response(proc.stderr).text()).toContain('WEBRTC_PUBLIC_IPS: "not-an-ip" is not an IPv4 address');
});

test("SIGTERM drains: a live push is served until DRAIN_TIMEOUT_MS, then answered 503, and the process exits 0", async () => {
  const proc = Bun.spawn([process.execPath, "run", MAIN], {
    env: {
      ...process.env,
      PORT: "0",
      HOST: "127.0.0.1",
      WEBRTC_UDP_ADDR: "127.0.0.1:0",
      LOG_LEVEL: "info",
      DRAIN_TIMEOUT_MS: "800",
    },
    stdout: "pipe",
    stderr: "inherit",
  });
  try {
    const log = logLines(proc.stdout);
    const { url } = await log.find("wisp listening");
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
    const push = fetch(new URL("/ingest/cam", url!), { method: "PUT", body, duplex: "half" } as RequestInit);
    controller.enqueue(readFixture("av.mpegts"));
    await log.find("ingest session started");
    proc.kill("SIGTERM");
    await log.find("draining: no new sessions; serving the live ones until they end");
    const refused = await fetch(new URL("/ingest/other", url!), { method: "PUT", body: "x" });
    expect(refused.status).toBe(503);
    const answer = await push;
    expect(answer.status).toBe(503);
    expect(await answer.text()).toContain("the server is shutting down");
    expect(await log.find("drained")).toMatchObject({ viewersEnded: 0, streamsEnded: 1, endedByThemselves: false });
    expect(await proc.exited).toBe(0);
  } finally {
    if (proc.exitCode === null) proc.kill("SIGKILL"); // only when an assertion failed first
  }
});

test("a busy port stops start-up with one sentence naming the port and the variable, no stack trace", async () => {
  const holder = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const udpHolder = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
  const start = async (env: Record<string, string>) => {
    const proc = Bun.spawn([process.execPath, "run", MAIN], {
      env: { ...process.env, HOST: "127.0.0.1", LOG_LEVEL: "warn", ...env },
      stdout: "ignore",
      stderr: "pipe",
    });
    return { code: await proc.exited, stderr: (await new Response(proc.stderr).text()).trim() };
  };
  try {
    const tcp = await start({ PORT: String(holder.port), WEBRTC_UDP_ADDR: "127.0.0.1:0" });
    expect(tcp).toEqual({
      code: 2,
      stderr: `wisp: TCP port ${holder.port} is already in use by another process: stop it, or set PORT to a free port`,
    });
    const udp = await start({ PORT: "0", WEBRTC_UDP_ADDR: `127.0.0.1:${udpHolder.port}` });
    expect(udp).toEqual({
      code: 2,
      stderr:
        `wisp: UDP port ${udpHolder.port} is already in use by another process: stop it, or set WEBRTC_UDP_ADDR to a free port`,
    });
  } finally {
    holder.stop(true);
    udpHolder.close();
  }
});

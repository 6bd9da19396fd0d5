import { expect, test } from "bun:test";

// main.ts as the Dockerfile and the README run it: `bun run main.ts`.
const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** JSON log lines of a process, awaited by message. */
function logLines(stream: ReadableStream<Uint8Array>) {
  const lines: Array<Record<string, string>> = [];
  const reading = (async () => {
    let buffered = "";
    const reader = stream.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      buffered += new TextDecoder().decode(r.value);
      for (let i = buffered.indexOf("\n"); i >= 0; i = buffered.indexOf("\n")) {
        lines.push(JSON.parse(buffered.slice(0, i)));
        buffered = buffered.slice(i + 1);
      }
    }
  })();
  return {
    async find(msg: string): Promise<Record<string, string>> {
      for (;;) {
        const line = lines.find((l) => l.msg === msg);
        if (line) return line;
        const more = await Promise.race([reading.then(() => "ended"), Bun.sleep(20)]);
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

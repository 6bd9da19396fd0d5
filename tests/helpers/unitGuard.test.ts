import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// In a child process: once loaded, the guard stays for the rest of the process.
test("the unit layer's guard refuses servers, sockets and child processes, werift's require()d dgram included", async () => {
  const dir = mkdtempSync(join(tmpdir(), "wisp-unit-guard-"));
  try {
    const script = join(dir, "tries.ts");
    writeFileSync(
      script,
      `import ${JSON.stringify(join(import.meta.dir, "unitGuard.ts"))};
      import { createRequire } from "node:module";
      const require = createRequire(import.meta.url);
      const tries: Record<string, () => unknown> = {
        serve: () => Bun.serve({ port: 0, fetch: () => new Response() }),
        udpSocket: () => Bun.udpSocket({}),
        spawn: () => Bun.spawn(["true"]),
        dgram: () => require("dgram").createSocket("udp4"),
        net: () => require("node:net").createServer(),
        childProcess: () => require("node:child_process").execSync("true"),
      };
      for (const [name, open] of Object.entries(tries)) {
        try { open(); console.log(name, "opened"); } catch (e) { console.log(name, /in a unit test/.test(String(e)) ? "refused" : String(e)); }
      }
      process.exit(0);`,
    );
    const child = Bun.spawn([process.execPath, script], { stdout: "pipe", stderr: "inherit" });
    const [out, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
    expect(code).toBe(0);
    expect(out.trim().split("\n")).toEqual([
      "serve refused",
      "udpSocket refused",
      "spawn refused",
      "dgram refused",
      "net refused",
      "childProcess refused",
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

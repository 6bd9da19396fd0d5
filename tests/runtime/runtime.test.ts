import { expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { runtimeCases } from "./runtimeCases.ts";

// The runtime seam's cases on Bun, here; the same cases on Deno, in a `deno test` child.
for (const { name, run } of runtimeCases) test(name, run);

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

test("the same cases pass on Deno (deno test tests/runtime/runtimeCases.deno.ts)", async () => {
  const proc = Bun.spawn(["node_modules/.bin/deno", "test", "-A", "--quiet", "tests/runtime/runtimeCases.deno.ts"], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  expect({ code, out, err }).toMatchObject({ code: 0 });
  expect(out).toContain(`ok | ${runtimeCases.length} passed | 0 failed`);
}, 60_000);

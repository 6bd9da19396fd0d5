// The runtime seam's cases on Deno: node_modules/.bin/deno test -A tests/runtime/runtimeCases.deno.ts
// (runtime.test.ts runs this under `bun test`; tsc leaves *.deno.ts to `deno task check`).
import { runtimeCases } from "./runtimeCases.ts";

for (const { name, run } of runtimeCases) Deno.test(name, run);

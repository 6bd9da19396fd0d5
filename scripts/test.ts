/**
 * Runs the test layers, each with its own per-test timeout:
 *
 *   bun scripts/test.ts unit loopback e2e [bun test options]
 *
 *   unit      pure code and fixtures: no server, socket, child process or browser (5 s a test);
 *             run with tests/helpers/unitGuard.ts, which makes those throw
 *   loopback  real servers, sockets, werift peers and child processes on 127.0.0.1 (60 s a test)
 *   e2e       tests/e2e/: Debian Chromium against a real server (90 s a test)
 *
 * No list to keep: a file's layer follows from its folder and from what it and the test helpers it
 * imports use (layerOf). All named layers run even when one fails; the exit code says if any did.
 * Refuses to run if a test file bun would find is in no layer (see layerProblems).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

export type Layer = "unit" | "loopback" | "e2e";

const ROOT = resolve(import.meta.dir, "..");

export const LAYERS: Record<Layer, { timeoutMs: number; preload?: string }> = {
  unit: { timeoutMs: 5_000, preload: "./tests/helpers/unitGuard.ts" },
  loopback: { timeoutMs: 60_000 },
  e2e: { timeoutMs: 90_000 },
};

/**
 * What puts a file (or a test helper it imports) in the loopback layer: servers, sockets and child
 * processes, directly or through the lib/ functions that open them, or a `// test layer: loopback`
 * line for a file that reaches them some other way (the unit layer's guard says when one does).
 * werift objects that open no socket (SRTP sessions, an answer without gathering) are unit.
 */
const OPENS_SOCKETS = new RegExp(
  [
    String.raw`\b(startTestServer|serveHttp|setUpWebrtc|UdpMux\.open)\(`,
    String.raw`\bBun\.(serve|listen|connect|udpSocket|spawn|spawnSync)\(`,
    String.raw`"(node:)?(dgram|net|child_process)"`,
    String.raw`^// test layer: loopback$`,
  ].join("|"),
  "m",
);
const OPENS_BROWSER = /"playwright-core"/;

/** Test files as `bun test` finds them (its name patterns), relative to the repository, sorted. */
export function testFiles(dir = ROOT): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...testFiles(path));
    else if (/[._](test|spec)\.[cm]?[jt]sx?$/.test(entry.name)) found.push(relative(ROOT, path));
  }
  return found.sort();
}

/** The source of `file` and of the files under tests/ it imports (not type-only), transitively. */
function sourceWithTestImports(file: string, seen = new Set<string>()): string {
  if (seen.has(file) || !existsSync(join(ROOT, file))) return "";
  seen.add(file);
  const source = readFileSync(join(ROOT, file), "utf8");
  let all = source;
  for (const [, spec] of source.matchAll(/^import (?!type )[^;]*?from "(\.[^"]+)"/gms)) {
    const imported = relative(ROOT, resolve(ROOT, dirname(file), spec!));
    if (imported.startsWith("tests/")) all += sourceWithTestImports(imported, seen);
  }
  return all;
}

/** The layer of a test file, or undefined for one that fits none (see layerProblems). */
export function layerOf(file: string): Layer | undefined {
  return layerFor(file, file.startsWith("tests/") ? sourceWithTestImports(file) : "");
}

/** The rule itself: `source` is the file's own and that of the test helpers it imports. */
export function layerFor(file: string, source: string): Layer | undefined {
  if (!file.startsWith("tests/")) return undefined;
  if (file.startsWith("tests/e2e/")) return "e2e";
  if (OPENS_BROWSER.test(source)) return undefined;
  return OPENS_SOCKETS.test(source) ? "loopback" : "unit";
}

export function filesOf(layer: Layer): string[] {
  return testFiles().filter((file) => layerOf(file) === layer);
}

/** Test files bun would find that are in no layer, each with the reason; empty when all is well. */
export function layerProblems(): string[] {
  return testFiles()
    .filter((file) => layerOf(file) === undefined)
    .map((file) =>
      file.startsWith("tests/")
        ? `${file} is in no layer: it drives a browser outside tests/e2e/`
        : `${file} is in no layer: test files live under tests/`
    );
}

async function runLayer(layer: Layer, bunArgs: string[]): Promise<boolean> {
  const { timeoutMs, preload } = LAYERS[layer];
  const files = filesOf(layer).map((file) => `./${file}`);
  console.error(`\ntest:${layer}: ${files.length} files, ${timeoutMs / 1000} s a test`);
  const args = [
    "test",
    "--timeout",
    String(timeoutMs),
    ...(preload ? ["--preload", preload] : []),
    ...bunArgs,
    ...files,
  ];
  const child = Bun.spawn([process.execPath, ...args], { cwd: ROOT, stdio: ["inherit", "inherit", "inherit"] });
  return (await child.exited) === 0;
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  const isLayer = (arg: string): arg is Layer => Object.hasOwn(LAYERS, arg);
  const layers = argv.filter(isLayer);
  const bunArgs = argv.filter((arg) => !isLayer(arg));
  const problems = layerProblems();
  if (layers.length === 0 || problems.length > 0) {
    console.error(
      problems.length > 0 ? problems.join("\n") : `usage: bun scripts/test.ts ${Object.keys(LAYERS).join("|")}...`,
    );
    process.exit(2);
  }
  let ok = true;
  for (const layer of layers) ok = (await runLayer(layer, bunArgs)) && ok;
  process.exit(ok ? 0 : 1);
}

// The last line of every benchmark: one JSON object with the figure, the arguments that reproduce it
// (`bun run bench FIGURE ARGS...`), the commit and the machine, so runs can be collected and compared
// without parsing the human-readable lines printed before it.
import { readFileSync } from "node:fs";

const ROOT = new URL("../..", import.meta.url).pathname;
/** Digits kept after the point: the figures are ms, us and MB, none meaningful below a thousandth. */
const DECIMALS = 3;

export interface Machine {
  cores: number;
  /** The CPU's model name, from /proc/cpuinfo. */
  cpu: string;
  /** "Bun 1.4.5". */
  runtime: string;
}

export interface FigureLine {
  figure: string;
  args: string[];
  result: unknown;
  /** `git rev-parse --short HEAD`, with "-dirty" when the work tree has changes. */
  commit: string;
  machine: Machine;
  /** When the line was printed, ISO 8601. */
  date: string;
}

export function commit(): string {
  const git = (args: string[]) => Bun.spawnSync(["git", ...args], { cwd: ROOT, stdout: "pipe", stderr: "ignore" });
  const head = git(["rev-parse", "--short", "HEAD"]);
  if (head.exitCode !== 0) return "unknown (not a git checkout)";
  const changes = git(["status", "--porcelain"]).stdout.toString().trim();
  return head.stdout.toString().trim() + (changes ? "-dirty" : "");
}

export function machine(): Machine {
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "unknown CPU";
  return { cores: navigator.hardwareConcurrency, cpu, runtime: `Bun ${Bun.version}` };
}

/** "2 cores, AMD EPYC 7B13; Bun 1.4.5": the machine as the human-readable lines name it. */
export function describeMachine(m: Machine = machine()): string {
  return `${m.cores} cores, ${m.cpu}; ${m.runtime}`;
}

/** Numbers kept to DECIMALS places in the line. */
function rounded(_key: string, value: unknown): unknown {
  return typeof value === "number" && !Number.isInteger(value) ? Number(value.toFixed(DECIMALS)) : value;
}

/** Prints the figure's JSON line and returns it. */
export function printFigureLine(figure: string, args: readonly string[], result: unknown): FigureLine {
  const line: FigureLine = {
    figure,
    args: [...args],
    result,
    commit: commit(),
    machine: machine(),
    date: new Date().toISOString(),
  };
  console.log(JSON.stringify(line, rounded));
  return line;
}

import type { ChildExit, ChildProcess, SpawnOptions, StdioMode } from "../childProcess.ts";

/** Deno.Command(...).spawn(); its streams are web streams already. */
export function spawn(argv: readonly string[], options: SpawnOptions): ChildProcess {
  const [command, ...args] = argv;
  const stdio = {
    stdin: options.stdin ?? "ignore",
    stdout: options.stdout ?? "pipe",
    stderr: options.stderr ?? "inherit",
  } as const;
  const child = new Deno.Command(command!, {
    args,
    stdin: denoStdio(stdio.stdin),
    stdout: denoStdio(stdio.stdout),
    stderr: denoStdio(stdio.stderr),
    ...(options.env ? { env: options.env } : {}), // added to this process's environment (clearEnv is false)
    ...(options.cwd ? { cwd: options.cwd } : {}),
  }).spawn();
  let ended = false;
  const exited = child.status.then((status): ChildExit => {
    ended = true;
    return { code: status.signal ? null : status.code, signal: status.signal };
  });
  return {
    pid: child.pid,
    stdin: stdio.stdin === "pipe" ? child.stdin : undefined,
    stdout: stdio.stdout === "pipe" ? child.stdout : undefined,
    stderr: stdio.stderr === "pipe" ? child.stderr : undefined,
    exited,
    kill(signal = "SIGTERM") {
      if (!ended) child.kill(signal); // Deno throws for a child already reaped
    },
  };
}

function denoStdio(mode: StdioMode): "piped" | "null" | "inherit" {
  return mode === "pipe" ? "piped" : mode === "ignore" ? "null" : "inherit";
}

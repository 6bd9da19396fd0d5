import type { Libc } from "../libc.ts";

const SYMBOLS = {
  sendmmsg: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

/** libc through Deno.dlopen: the symbols themselves; an address is a pointer object turned into a number. */
export function openLibc(): Libc | undefined {
  if (Deno.build.os !== "linux") return undefined;
  let symbols: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
  try {
    symbols = Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  } catch {
    return undefined; // no glibc (musl, say)
  }
  return {
    sendmmsg: symbols.sendmmsg,
    getsockname: symbols.getsockname,
    getsockopt: symbols.getsockopt,
    errno: () => new Deno.UnsafePointerView(symbols.__errno_location()!).getInt32(0),
    addressOf: (bytes) => Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(bytes))),
  };
}

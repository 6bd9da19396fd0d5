import { dlopen, FFIType, ptr, read } from "bun:ffi";
import type { Libc } from "../libc.ts";

function openSymbols() {
  return dlopen("libc.so.6", {
    sendmmsg: { args: [FFIType.i32, FFIType.ptr, FFIType.u32, FFIType.i32], returns: FFIType.i32 },
    getsockname: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    getsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
  }).symbols;
}

/** libc through bun:ffi: the symbols themselves (typed arrays go straight in as pointers), ptr() for addresses. */
export function openLibc(): Libc | undefined {
  if (process.platform !== "linux") return undefined;
  let symbols: ReturnType<typeof openSymbols>;
  try {
    symbols = openSymbols();
  } catch {
    return undefined; // no glibc (musl, say)
  }
  return {
    sendmmsg: symbols.sendmmsg,
    getsockname: symbols.getsockname,
    getsockopt: symbols.getsockopt,
    errno: () => read.i32(symbols.__errno_location()!, 0),
    addressOf: ptr,
  };
}

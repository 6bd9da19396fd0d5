// The few libc calls Bun's UDP socket does not offer, through bun:ffi:
// sendmmsg(2) with per-message control data (UDP GSO), and finding the file
// descriptor behind a Bun.udpSocket. Linux with glibc only; everything here
// returns undefined elsewhere and the caller keeps Bun's own sendMany.
import { dlopen, FFIType, read } from "bun:ffi";
import { readdirSync, readlinkSync } from "node:fs";

export const AF_INET = 2;
const SOL_SOCKET = 1;
const SO_TYPE = 3;
const SOCK_DGRAM = 2;
export const SOCKADDR_IN_SIZE = 16;

function openLibc() {
  return dlopen("libc.so.6", {
    sendmmsg: { args: [FFIType.i32, FFIType.ptr, FFIType.u32, FFIType.i32], returns: FFIType.i32 },
    getsockname: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    getsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
  }).symbols;
}

export type Libc = ReturnType<typeof openLibc>;

let libc: Libc | null | undefined;

/** libc's symbols, or undefined where there is no glibc (tried once per process). */
export function libcUdp(): Libc | undefined {
  if (libc === undefined) {
    try {
      libc = process.platform === "linux" ? openLibc() : null;
    } catch {
      libc = null;
    }
  }
  return libc ?? undefined;
}

/** errno of the calling thread, right after a failed call. */
export function lastErrno(symbols: Libc): number {
  return read.i32(symbols.__errno_location()!, 0);
}

/**
 * The file descriptor of this process's IPv4 UDP socket bound to
 * `address`:`port` (Bun does not expose it): the one socket among
 * /proc/self/fd whose getsockname() says so. Undefined if none or several.
 */
export function findUdpSocketFd(symbols: Libc, address: string, port: number): number | undefined {
  const matches = socketFds().filter((fd) => isDatagramSocket(symbols, fd) && boundTo(symbols, fd, address, port));
  return matches.length === 1 ? matches[0] : undefined;
}

function socketFds(): number[] {
  let names: string[];
  try {
    names = readdirSync("/proc/self/fd");
  } catch {
    return [];
  }
  return names.filter((name) => linkOf(name).startsWith("socket:")).map(Number);
}

function linkOf(fdName: string): string {
  try {
    return readlinkSync(`/proc/self/fd/${fdName}`);
  } catch {
    return ""; // closed meanwhile
  }
}

function isDatagramSocket(symbols: Libc, fd: number): boolean {
  const value = new Int32Array(1);
  const length = new Uint32Array([4]);
  return symbols.getsockopt(fd, SOL_SOCKET, SO_TYPE, value, length) === 0 && value[0] === SOCK_DGRAM;
}

function boundTo(symbols: Libc, fd: number, address: string, port: number): boolean {
  const name = new Uint8Array(SOCKADDR_IN_SIZE);
  const length = new Uint32Array([SOCKADDR_IN_SIZE]);
  if (symbols.getsockname(fd, name, length) !== 0) return false;
  const family = name[0]! | (name[1]! << 8);
  const boundPort = (name[2]! << 8) | name[3]!;
  return family === AF_INET && boundPort === port && name.subarray(4, 8).join(".") === address;
}

/** "a.b.c.d" as its 4 bytes, or undefined for anything else (IPv6, names). */
export function ipv4Bytes(host: string): [number, number, number, number] | undefined {
  const parts = host.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : 256));
  return bytes.every((b) => b <= 255) ? (bytes as [number, number, number, number]) : undefined;
}

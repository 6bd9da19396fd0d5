// libc for the UDP mux (its FFI lives in lib/runtime/libc.ts): finding the
// file descriptor behind the runtime's UDP socket, for sendmmsg(2) with UDP
// GSO on it. Linux with glibc only; elsewhere libcUdp() is undefined and the
// mux keeps the socket's own sendMany.
import { readdirSync, readlinkSync } from "node:fs";
import { type Libc, libc as runtimeLibc } from "../runtime/libc.ts";

export type { Libc };

export const AF_INET = 2;
const SOL_SOCKET = 1;
const SO_TYPE = 3;
const SOCK_DGRAM = 2;
export const SOCKADDR_IN_SIZE = 16;

/** libc's socket calls, or undefined where there is no glibc or no FFI (tried once per process). */
export function libcUdp(): Libc | undefined {
  return runtimeLibc();
}

/**
 * The file descriptor of this process's IPv4 UDP socket bound to
 * `address`:`port` (neither Bun nor Deno exposes it): the one socket among
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

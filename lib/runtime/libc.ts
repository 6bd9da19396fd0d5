/**
 * The few libc calls the runtimes' UDP sockets do not offer (Linux with
 * glibc), through FFI: sendmmsg(2) with per-message control data for UDP GSO
 * (lib/udp/gsoBatchSender.ts), and what finds the descriptor behind a
 * runtime's socket (lib/udp/libcUdp.ts). Each member is the FFI function
 * itself where the runtime allows it, so a call costs what a direct FFI call does.
 */
import { runtime } from "./runtime.ts";

export interface Libc {
  /** sendmmsg(2): `messages` holds `count` struct mmsghdr; returns how many left, or -1 (see errno()). */
  sendmmsg(fd: number, messages: Uint8Array, count: number, flags: number): number;
  /** getsockname(2) into a struct sockaddr_in; `length` is in and out. */
  getsockname(fd: number, name: Uint8Array, length: Uint32Array): number;
  /** getsockopt(2) of an int option. */
  getsockopt(fd: number, level: number, option: number, value: Int32Array, length: Uint32Array): number;
  /** errno of the calling thread, read right after a failed call. */
  errno(): number;
  /**
   * The address of `bytes`' first byte, for pointers written into structs.
   * Only for arrays over an ArrayBuffer of their own, taken right before the
   * call that uses it: such storage does not move.
   */
  addressOf(bytes: Uint8Array): number;
}

/** libc's socket calls, or undefined where there is no glibc or no FFI (tried once per process). */
export function libc(): Libc | undefined {
  return runtime.libc();
}

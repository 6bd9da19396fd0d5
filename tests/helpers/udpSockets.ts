import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** Local "address:port" of the IPv4 UDP sockets this process holds (from /proc: what `ss -uanp` shows for it). */
export function ownUdpSockets(): string[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (match) inodes.add(match[1]!);
    } catch {
      // the fd closed while we looked
    }
  }
  const sockets: string[] = [];
  for (const line of readFileSync("/proc/net/udp", "utf8").split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length <= 9 || !inodes.has(fields[9]!)) continue;
    const [hexIp, hexPort] = fields[1]!.split(":");
    const ip = [3, 2, 1, 0].map((i) => parseInt(hexIp!.slice(i * 2, i * 2 + 2), 16)).join("."); // little-endian
    sockets.push(`${ip}:${parseInt(hexPort!, 16)}`);
  }
  return sockets.sort();
}

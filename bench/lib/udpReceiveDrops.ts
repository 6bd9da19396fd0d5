import { readdirSync, readFileSync, readlinkSync } from "node:fs";

const INODE_FIELD = 9; // /proc/net/udp: sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
const DROPS_FIELD = 12;

/**
 * Datagrams the kernel dropped because a receive buffer was full, summed over
 * the UDP sockets process `pid` holds (the "drops" column of /proc/net/udp and
 * udp6). On loopback that is where a datagram the sender handed to the kernel
 * gets lost, so for a load client it is the loss its JS never saw.
 */
export function udpReceiveDrops(pid: number): number {
  const inodes = socketInodes(pid);
  let drops = 0;
  for (const table of ["/proc/net/udp", "/proc/net/udp6"]) {
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length > DROPS_FIELD && inodes.has(fields[INODE_FIELD]!)) drops += Number(fields[DROPS_FIELD]);
    }
  }
  return drops;
}

function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    const target = readlinkOrUndefined(`/proc/${pid}/fd/${fd}`);
    const inode = target && /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode) inodes.add(inode);
  }
  return inodes;
}

/** undefined when the descriptor was closed between listing and reading it. */
function readlinkOrUndefined(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

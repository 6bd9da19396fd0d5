import type { UdpSocket, UdpSocketHandlers, UdpSocketOptions } from "../udpSocket.ts";

/** Bun.udpSocket: its own sendMany is one sendmmsg(2) for the lot. */
export async function openUdpSocket(options: UdpSocketOptions, handlers: UdpSocketHandlers): Promise<UdpSocket> {
  const socket = await Bun.udpSocket({
    hostname: options.hostname,
    port: options.port,
    socket: {
      data: (_socket, data, port, from) => handlers.data(data, from, port),
      // Bun enables IP_RECVERR: ICMP errors of departed peers arrive here and must not crash (FACTS.md).
      error: (_socket, error) => handlers.error(error),
    },
  });
  return {
    address: socket.address.address,
    port: socket.port,
    batchedSendMany: true,
    sendMany: (packets) => socket.sendMany(packets as Array<Buffer | number | string>),
    close: () => socket.close(),
  };
}

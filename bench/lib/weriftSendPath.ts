import { type RTCRtpSender, RtpHeader, RtpPacket } from "werift";
import type { RtpSink } from "../../lib/pipeline/viewerTrack.ts";

/**
 * werift's own send path, RTCRtpSender.sendRtp, as an application would use
 * it: werift clones the packet, rewrites its header, encrypts and sends it
 * on the connection's socket, and answers NACKs from its cache. Much slower
 * than Wisp's (FACTS.md: ~14 us per packet per viewer); the benchmark's
 * baseline (bench/fanout.ts --baseline, through bench/lib/benchServer.ts),
 * plugged in as WebrtcSetupOptions.weriftSendPath. werift keeps the
 * connection (no hand-over) and its own sender-report state.
 */
export function weriftSendPath(sender: RTCRtpSender): RtpSink {
  return {
    send(packetIndex, timestamp, marker, payload) {
      const header = new RtpHeader({ sequenceNumber: packetIndex & 0xffff, timestamp, marker });
      const body = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
      sender.sendRtp(new RtpPacket(header, body)).catch(() => {}); // werift drops what it cannot send, as before the connection
      return true;
    },
  };
}

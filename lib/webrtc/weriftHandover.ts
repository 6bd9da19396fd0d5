import type { RTCPeerConnection } from "werift";
import type { SrtcpSessionKeys } from "../rtp/srtcp.ts";
import { SRTP_PROFILES } from "./directRtpSender.ts";
import { MuxedTransport, type Address } from "./udpMux.ts";
import type { IceCredentials } from "./viewerLink.ts";

/**
 * werift 0.25.2 internals read once, when a connected peer connection hands
 * over to a ViewerLink. The hand-over test in tests/webrtc/whepLoopback.test.ts
 * fails if an upgrade moves them (werift would then keep every connection).
 */
interface WeriftIceConnection {
  localUsername: string;
  localPassword: string;
  remoteUsername: string;
  remotePassword: string;
  iceControlling: boolean;
  tieBreaker: bigint;
  nominated?: { remoteAddr: Address; localCandidate: { priority: number }; protocol: { transport: unknown } };
}

interface WeriftSrtcpContext {
  profile: number;
  srtcpSessionKey: Buffer;
  srtcpSessionSalt: Buffer;
  srtcpSessionAuthTag: Buffer;
  srtcpSSRCStates: Record<number, { srtcpIndex: number }>;
}

interface WeriftDtlsTransport {
  state: string;
  srtcp?: { localContext: WeriftSrtcpContext; remoteContext: WeriftSrtcpContext };
  iceTransport: { connection: WeriftIceConnection };
}

/** Everything a ViewerLink takes from werift: the route, the ICE credentials, the SRTCP keys. */
export interface HandOverState {
  transport: MuxedTransport;
  destination: Address;
  ice: IceCredentials;
  srtcp: { outgoing: SrtcpSessionKeys; incoming: SrtcpSessionKeys; firstIndex: number };
}

/**
 * What a connected werift peer connection hands over, or why it cannot: not
 * connected, not on the UDP mux (werift's own socket cannot be taken over),
 * or an SRTP profile we do not implement. The transport is not taken yet.
 */
export function handOverState(pc: RTCPeerConnection): HandOverState | string {
  const dtls = pc.getTransceivers()[0]?.dtlsTransport as unknown as WeriftDtlsTransport | undefined;
  if (dtls?.state !== "connected" || !dtls.srtcp) return "DTLS is not connected";
  const connection = dtls.iceTransport.connection;
  const pair = connection.nominated;
  if (!pair) return "ICE has no selected pair";
  const transport = pair.protocol.transport;
  if (!(transport instanceof MuxedTransport)) return "the connection is not on the UDP mux";
  const outgoing = srtcpKeys(dtls.srtcp.localContext);
  const incoming = srtcpKeys(dtls.srtcp.remoteContext);
  if (!outgoing || !incoming) return `SRTP profile 0x${dtls.srtcp.localContext.profile.toString(16)} is not supported`;
  return {
    transport,
    destination: [pair.remoteAddr[0], pair.remoteAddr[1]],
    ice: {
      localUfrag: connection.localUsername,
      localPassword: connection.localPassword,
      remoteUfrag: connection.remoteUsername,
      remotePassword: connection.remotePassword,
      controlling: connection.iceControlling,
      tieBreaker: connection.tieBreaker,
      priority: pair.localCandidate.priority,
    },
    srtcp: { outgoing, incoming, firstIndex: lastSrtcpIndex(dtls.srtcp.localContext) + 1 },
  };
}

function srtcpKeys(context: WeriftSrtcpContext): SrtcpSessionKeys | undefined {
  const profile = SRTP_PROFILES[context.profile];
  if (!profile) return undefined;
  // Copies: the link must not keep werift's context (and what hangs off it) alive.
  const copy = (bytes: Buffer) => Uint8Array.from(bytes);
  const authKey = context.srtcpSessionAuthTag?.length ? copy(context.srtcpSessionAuthTag) : undefined; // AES-CM only
  return { profile, key: copy(context.srtcpSessionKey), salt: copy(context.srtcpSessionSalt), ...(authKey ? { authKey } : {}) };
}

/** The highest SRTCP index werift has sent under any SSRC (its sender reports until now). */
function lastSrtcpIndex(context: WeriftSrtcpContext): number {
  return Math.max(0, ...Object.values(context.srtcpSSRCStates).map((state) => state.srtcpIndex));
}

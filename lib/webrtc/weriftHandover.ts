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

/** A DTLS record as werift's CipherContext.decryptPacket takes it (RFC 6347 4.1). */
interface WeriftDtlsRecord {
  recordLayerHeader: { contentType: number; protocolVersion: { major: number; minor: number }; epoch: number; sequenceNumber: number; contentLen: number };
  fragment: Buffer;
}

interface WeriftDtlsTransport {
  state: string;
  /** werift's DTLS session; its cipher context holds the record keys (throws on a record that does not authenticate). */
  dtls?: { cipher?: { decryptPacket(record: WeriftDtlsRecord): Buffer } };
  srtcp?: { localContext: WeriftSrtcpContext; remoteContext: WeriftSrtcpContext };
  iceTransport: { connection: WeriftIceConnection };
}

/** Everything a ViewerLink takes from werift: the route, the ICE credentials, the SRTCP keys. */
export interface HandOverState {
  transport: MuxedTransport;
  /** The CNAME werift announced in the answer's a=ssrc lines: our reports keep it (RFC 3550 6.5.1). */
  cname: string;
  destination: Address;
  ice: IceCredentials;
  srtcp: { outgoing: SrtcpSessionKeys; incoming: SrtcpSessionKeys; firstIndex: number };
  /** Whether a DTLS alert datagram authenticates under the session's keys (a forged one must not end it). */
  isAuthenticDtlsAlert: (datagram: Uint8Array) => boolean;
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
  const cipher = dtls.dtls?.cipher;
  if (!cipher) return "werift's DTLS cipher context is missing";
  return {
    transport,
    cname: (pc as unknown as { cname: string }).cname,
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
    isAuthenticDtlsAlert: (datagram) => authenticAlert(datagram, (record) => cipher.decryptPacket(record)),
  };
}

const DTLS_RECORD_HEADER_SIZE = 13; // RFC 6347 4.1: type(1) version(2) epoch(2) sequence_number(6) length(2)

/**
 * True when the datagram's first record is an encrypted alert (epoch 1 or
 * later, as every alert after the handshake is) whose AEAD tag checks out
 * under the session's keys: only the viewer can have sent it.
 */
function authenticAlert(datagram: Uint8Array, decrypt: (record: WeriftDtlsRecord) => Buffer): boolean {
  if (datagram.length < DTLS_RECORD_HEADER_SIZE) return false;
  const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  const epoch = view.getUint16(3);
  const length = view.getUint16(11);
  if (epoch === 0 || DTLS_RECORD_HEADER_SIZE + length > datagram.length) return false;
  const recordLayerHeader = {
    contentType: datagram[0]!,
    protocolVersion: { major: datagram[1]!, minor: datagram[2]! },
    epoch,
    sequenceNumber: view.getUint16(5) * 2 ** 32 + view.getUint32(7),
    contentLen: length,
  };
  const fragment = Buffer.from(datagram.subarray(DTLS_RECORD_HEADER_SIZE, DTLS_RECORD_HEADER_SIZE + length));
  try {
    decrypt({ recordLayerHeader, fragment });
    return true;
  } catch {
    return false;
  }
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

import type { RTCPeerConnection } from "werift";
import { buildBye } from "../rtp/rtcpPackets.ts";
import { SRTP_PROFILES } from "./weriftSenderSink.ts";
import { type Address, MuxedTransport } from "../udp/udpMux.ts";
import type { IceCredentials } from "../webrtc/viewerLink.ts";
import type { SessionKeys } from "../srtp/sessionKeys.ts";

/**
 * werift 0.25.2 internals read once, when a connected peer connection hands
 * over to a ViewerLink, or when one that was not handed over closes
 * (sayWeriftGoodbye). The hand-over test in tests/webrtc/whepLoopback.test.ts
 * fails if an upgrade moves them (werift would then keep every connection),
 * tests/webrtc/whepGoodbye.test.ts if the goodbye no longer reaches a viewer.
 */
interface WeriftPeerConnection {
  /** The CNAME werift announces in the answer's a=ssrc lines and its SDES (RFC 3550 6.5.1). */
  cname: string;
}

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

/** The record fields werift's AEAD suite authenticates (RFC 5246 6.2.3.3 additional_data, with the epoch, RFC 6347 4.1.2.1). */
interface WeriftCipherHeader {
  type: number;
  /** 0xfefd for DTLS 1.2. */
  version: number;
  epoch: number;
  sequenceNumber: number;
}

/**
 * werift's negotiated cipher suite (dtls/src/cipher/suites/aead.ts): only the
 * record keys and nonces. It encrypts with our side's write keys and decrypts
 * with the peer's; decrypt throws on a record that does not authenticate.
 */
export interface WeriftCipherSuite {
  encrypt(sessionType: number, plain: Buffer, header: WeriftCipherHeader): Buffer;
  decrypt(sessionType: number, fragment: Buffer, header: WeriftCipherHeader): Buffer;
}

/** werift's DtlsSocket: its cipher context and its record layer state (dtls/src/context/dtls.ts). */
export interface WeriftDtlsSocket {
  /** The CipherContext: besides the suite it holds the master secret, certificates and private key. */
  cipher?: { sessionType: number; cipher?: WeriftCipherSuite };
  /** The current write epoch, and the sequence number werift last wrote in it (it pre-increments). */
  dtls: { epoch: number; recordSequenceNumber: number; version: { major: number; minor: number } };
}

/** An RTCP packet as werift's RTCDtlsTransport.sendRtcp takes it: it serializes, SRTCP-protects and sends. */
interface WeriftRtcpPacket {
  serialize(): Buffer;
}

interface WeriftDtlsTransport {
  state: string;
  dtls?: WeriftDtlsSocket;
  srtcp?: { localContext: WeriftSrtcpContext; remoteContext: WeriftSrtcpContext };
  iceTransport: { connection: WeriftIceConnection & { send(data: Buffer): Promise<void> } };
  sendRtcp(packets: WeriftRtcpPacket[]): Promise<unknown>;
}

/** werift's RTCRtpSender: `packetCount` is private in its types. */
interface WeriftSender {
  ssrc: number;
  packetCount: number;
}

/** Everything a ViewerLink takes from werift: the route, the ICE credentials, the SRTCP and DTLS record keys. */
export interface HandOverState extends DtlsGoodbye {
  transport: MuxedTransport;
  /** The CNAME werift announced in the answer's a=ssrc lines: our reports keep it (RFC 3550 6.5.1). */
  cname: string;
  destination: Address;
  ice: IceCredentials;
  srtcp: { outgoing: SessionKeys; incoming: SessionKeys; firstIndex: number };
}

/** The DTLS session after werift, for a ViewerLink: it only ever reads or writes alerts. */
export interface DtlsGoodbye {
  /** Whether a DTLS alert datagram authenticates under the session's keys (a forged one must not end it). */
  isAuthenticDtlsAlert: (datagram: Uint8Array) => boolean;
  /** Our close_notify (RFC 5246 7.2.1) as a DTLS record, at the next write sequence number each call. */
  closeNotify: () => Uint8Array;
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
  const goodbye = dtls.dtls && dtlsGoodbye(dtls.dtls);
  if (!goodbye) return "werift's DTLS cipher suite is missing";
  return {
    transport,
    cname: (pc as unknown as WeriftPeerConnection).cname,
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
    ...goodbye,
  };
}

/**
 * werift writes no DTLS record after the hand-over, so the sequence numbers
 * go on from the last one it wrote in the current epoch. (werift 0.25.2
 * numbers its epoch-1 Finished on from its epoch-0 count, then restarts at 0:
 * our first record, 1, lies below the Finished's number, never on it, and
 * well inside the viewer's replay window, RFC 6347 4.1.2.6.)
 */
export function dtlsGoodbye(socket: WeriftDtlsSocket): DtlsGoodbye | undefined {
  const keys = recordKeys(socket);
  if (!keys) return undefined;
  let sequenceNumber = socket.dtls.recordSequenceNumber;
  return {
    isAuthenticDtlsAlert: (datagram) => authenticAlert(datagram, keys),
    closeNotify: () => closeNotifyRecord(keys, ++sequenceNumber),
  };
}

/**
 * Before the hand-over (or without one, WEBRTC_HANDOVER=off) werift holds the
 * connection, and its pc.close() says no goodbye: RTCRtpSender.stop() sends no
 * BYE and RTCDtlsTransport.stop() no alert ("todo impl send alert"). This says
 * it in werift's place, on its selected pair and under its keys: an RTCP BYE
 * for the senders that sent (RFC 3550 6.6), then a close_notify (RFC 5246
 * 7.2.1). It resolves once both have left: close werift after it, not at
 * once (on werift's own socket an unconnected send leaves when the JS turn
 * ends, FACTS.md, and a close in the same turn drops it). Without a completed
 * DTLS handshake there are no keys, without a selected pair no route: nothing
 * is sent then.
 */
export async function sayWeriftGoodbye(pc: RTCPeerConnection): Promise<void> {
  const dtls = pc.getTransceivers()[0]?.dtlsTransport as unknown as WeriftDtlsTransport | undefined;
  const socket = dtls?.dtls;
  const keys = socket && recordKeys(socket);
  const connection = dtls?.iceTransport.connection;
  if (!dtls?.srtcp || !socket || !keys || !connection?.nominated) return;
  const ssrcs = (pc.getSenders() as unknown as WeriftSender[]).filter((s) => s.packetCount > 0).map((s) => s.ssrc);
  const bye = () => Buffer.from(buildBye(ssrcs, (pc as unknown as WeriftPeerConnection).cname));
  const byeSent = ssrcs.length > 0 ? dtls.sendRtcp([{ serialize: bye }]) : undefined; // werift's SRTCP index goes on
  // werift still owns the record layer: its counter moves on too.
  const closeNotifySent = connection.send(Buffer.from(closeNotifyRecord(keys, ++socket.dtls.recordSequenceNumber)));
  await Promise.all([byeSent, closeNotifySent]);
  await new Promise((resolve) => setImmediate(resolve)); // the turn that sent them has ended
}

/**
 * The record keys of werift's DTLS session without its CipherContext: the
 * suite object holds only the keys and nonces, so a link that keeps it does
 * not keep werift's master secret, certificates and private key alive.
 */
export interface DtlsRecordKeys {
  suite: WeriftCipherSuite;
  /** werift's SessionType (1 client, 2 server): which keys are ours to write with. */
  sessionType: number;
  /** The protocol version werift wrote (0xfefd, DTLS 1.2). */
  version: number;
  /** The current write epoch: 1 after the handshake. */
  epoch: number;
}

function recordKeys(socket: WeriftDtlsSocket): DtlsRecordKeys | undefined {
  const cipher = socket.cipher;
  if (!cipher?.cipher) return undefined;
  const { major, minor } = socket.dtls.version;
  return {
    suite: cipher.cipher,
    sessionType: cipher.sessionType,
    version: (major << 8) | minor,
    epoch: socket.dtls.epoch,
  };
}

const DTLS_RECORD_HEADER_SIZE = 13; // RFC 6347 4.1: type(1) version(2) epoch(2) sequence_number(6) length(2)
const DTLS_ALERT = 21; // RFC 6347 4.1 content type alert(21)
const CLOSE_NOTIFY = Uint8Array.of(1, 0); // RFC 5246 7.2: AlertLevel warning(1), AlertDescription close_notify(0)

/** RFC 5246 7.2.1 close_notify, encrypted as a DTLS 1.2 record at `sequenceNumber` of the keys' epoch. */
export function closeNotifyRecord(keys: DtlsRecordKeys, sequenceNumber: number): Uint8Array {
  return encryptedRecord(keys, DTLS_ALERT, sequenceNumber, CLOSE_NOTIFY);
}

/**
 * A DTLS 1.2 record (RFC 6347 4.1) of `plain`, encrypted by werift's suite
 * under the header fields it authenticates (RFC 5246 6.2.3.3, the sequence
 * number with the epoch, RFC 6347 4.1.2.1).
 */
function encryptedRecord(
  keys: DtlsRecordKeys,
  contentType: number,
  sequenceNumber: number,
  plain: Uint8Array,
): Uint8Array {
  const header = { type: contentType, version: keys.version, epoch: keys.epoch, sequenceNumber };
  const fragment = keys.suite.encrypt(keys.sessionType, Buffer.from(plain), header);
  const record = new Uint8Array(DTLS_RECORD_HEADER_SIZE + fragment.length);
  const view = new DataView(record.buffer);
  view.setUint8(0, contentType);
  view.setUint16(1, keys.version);
  view.setUint16(3, keys.epoch);
  view.setUint16(5, Math.floor(sequenceNumber / 2 ** 32)); // sequence_number is 48 bits
  view.setUint32(7, sequenceNumber % 2 ** 32);
  view.setUint16(11, fragment.length);
  record.set(fragment, DTLS_RECORD_HEADER_SIZE);
  return record;
}

/**
 * True when the datagram's first record is an encrypted alert (epoch 1 or
 * later, as every alert after the handshake is) whose AEAD tag checks out
 * under the session's keys: only the viewer can have sent it.
 */
function authenticAlert(datagram: Uint8Array, keys: DtlsRecordKeys): boolean {
  if (datagram.length < DTLS_RECORD_HEADER_SIZE) return false;
  const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  const epoch = view.getUint16(3);
  const length = view.getUint16(11);
  if (epoch === 0 || DTLS_RECORD_HEADER_SIZE + length > datagram.length) return false;
  const header = {
    type: datagram[0]!,
    version: view.getUint16(1),
    epoch,
    sequenceNumber: view.getUint16(5) * 2 ** 32 + view.getUint32(7),
  };
  const fragment = Buffer.from(datagram.subarray(DTLS_RECORD_HEADER_SIZE, DTLS_RECORD_HEADER_SIZE + length));
  try {
    keys.suite.decrypt(keys.sessionType, fragment, header); // throws when the AEAD tag does not check out
    return true;
  } catch {
    return false;
  }
}

function srtcpKeys(context: WeriftSrtcpContext): SessionKeys | undefined {
  const profile = SRTP_PROFILES[context.profile];
  if (!profile) return undefined;
  // Copies: the link must not keep werift's context (and what hangs off it) alive.
  const copy = (bytes: Buffer) => Uint8Array.from(bytes);
  const authKey = context.srtcpSessionAuthTag?.length ? copy(context.srtcpSessionAuthTag) : undefined; // AES-CM only
  return {
    profile,
    key: copy(context.srtcpSessionKey),
    salt: copy(context.srtcpSessionSalt),
    ...(authKey ? { authKey } : {}),
  };
}

/** The highest SRTCP index werift has sent under any SSRC (its sender reports until now). */
function lastSrtcpIndex(context: WeriftSrtcpContext): number {
  return Math.max(0, ...Object.values(context.srtcpSSRCStates).map((state) => state.srtcpIndex));
}

import type { Logger } from "../logger.ts";
import {
  buildBye,
  buildSenderReports,
  parseRtcpCompound,
  type RtcpFeedback,
  type SenderReportFields,
} from "../rtp/rtcpPackets.ts";
import { SrtcpProtector, SrtcpUnprotector } from "../srtp/srtcp.ts";
import {
  buildBindingRequest,
  buildBindingSuccess,
  parseStun,
  STUN_BINDING_REQUEST,
  STUN_BINDING_SUCCESS,
  verifyStunIntegrity,
} from "./stunMessage.ts";
import { type Address, type DatagramWriter, isDtls, type MuxedTransport } from "../udp/udpMux.ts";
import type { SessionKeys } from "../srtp/sessionKeys.ts";

/** The ICE facts a link needs to answer and send connectivity checks (RFC 8445 7.2.2, short-term credentials). */
export interface IceCredentials {
  localUfrag: string;
  localPassword: string;
  remoteUfrag: string;
  remotePassword: string;
  /** Our role: werift answers as the controlled agent, browsers control. */
  controlling: boolean;
  tieBreaker: bigint;
  /** PRIORITY for our checks (RFC 8445 7.1.1): the selected local candidate's. */
  priority: number;
}

export interface LinkTiming {
  /** Between our consent checks, ±20% (RFC 7675 5.1: 4-6 s). */
  consentIntervalMs: number;
  /** Without a consent response for this long, sending stops (RFC 7675 5.1: 30 s). */
  consentTimeoutMs: number;
  /** Between sender reports (werift and browsers send about one a second). */
  reportIntervalMs: number;
}

/** What a link uses of its MuxedTransport (handed over by werift, MuxedTransport.handOver). */
export type LinkTransport = Pick<
  MuxedTransport,
  "onData" | "send" | "queueWith" | "queueRun" | "close" | "lastDtlsFlight"
>;

export interface ViewerLinkOptions {
  /** The viewer's route on the UDP mux. */
  transport: LinkTransport;
  /** The selected pair's remote address. */
  destination: Address;
  ice: IceCredentials;
  srtcp: {
    outgoing: SessionKeys;
    incoming: SessionKeys;
    /** Past the last SRTCP index werift used, so the viewer's replay check accepts ours (RFC 3711 3.3.2). */
    firstIndex: number;
  };
  /** SDES CNAME for our reports (RFC 3550 6.5.1). */
  cname: string;
  /** Whether a DTLS alert datagram authenticates under the session's keys (weriftHandover.ts). */
  isAuthenticDtlsAlert(datagram: Uint8Array): boolean;
  /** Our DTLS close_notify record under the session's keys, at the next write sequence number (weriftHandover.ts). */
  closeNotify(): Uint8Array;
  /** The tracks' sender report fields now; a track that has not sent yet is left out. */
  senderReports(): SenderReportFields[];
  onFeedback(feedback: RtcpFeedback): void;
  /** The link ended by itself: consent lost, or the viewer closed DTLS. Not called for close(). */
  onClose(reason: string): void;
  logger: Logger;
  timing?: Partial<LinkTiming>;
  /** ms clock for consent; tests inject one. */
  now?: () => number;
}

const DEFAULT_TIMING: LinkTiming = { consentIntervalMs: 5000, consentTimeoutMs: 30_000, reportIntervalMs: 1000 };
const DTLS_CHANGE_CIPHER_SPEC = 20; // RFC 6347 4.1 content types
const DTLS_ALERT = 21;
const DTLS_HANDSHAKE = 22;
/** A repeated flight often spans several datagrams: ours is repeated once for them all. */
const MIN_FLIGHT_REPEAT_MS = 250;

/**
 * A viewer's connection once werift is done with it. werift runs ICE and the
 * DTLS handshake, then hands over (lib/werift/weriftHandover.ts) and its peer
 * connection is released: with 880 closures and 1 MB of state per
 * connection (bench/viewerMemory.ts) it is the bulk of what a viewer costs.
 * What the connection still needs afterwards is done here, on the same UDP
 * mux route:
 * - answer the viewer's ICE checks, follow its nomination to a new address (RFC 8445 7.3);
 * - check its consent every 5 s and stop after 30 s without it (RFC 7675);
 * - read its SRTCP: NACK, PLI and FIR go to `onFeedback` (RFC 4585, 5104);
 * - send sender reports about once a second (RFC 3550 6.4.1);
 * - end when the viewer closes DTLS (its close_notify alert, RFC 5246 7.2.1);
 * - say goodbye when closed: RTCP BYE (RFC 3550 6.6), then DTLS close_notify
 *   (RFC 5246 7.2.1), so the viewer ends at once, not at its consent timeout.
 * Incoming datagrams are told apart by their first byte (RFC 7983 7).
 */
export class ViewerLink {
  readonly stats = {
    stunRequests: 0,
    consentChecks: 0,
    consentResponses: 0,
    rtcpIn: 0,
    rtcpRejected: 0,
    reportsSent: 0,
    flightsRepeated: 0,
    forgedAlerts: 0,
  };
  #destination: Address;
  readonly #options: ViewerLinkOptions;
  readonly #timing: LinkTiming;
  readonly #now: () => number;
  readonly #transport: LinkTransport;
  readonly #protector: SrtcpProtector;
  readonly #unprotector: SrtcpUnprotector;
  readonly #timer: ReturnType<typeof setInterval>;
  #lastConsentMs: number;
  #nextCheckMs: number;
  #pendingCheck: Uint8Array | undefined;
  #flightRepeatedMs = -Infinity;
  #closed = false;

  constructor(options: ViewerLinkOptions) {
    this.#options = options;
    this.#timing = { ...DEFAULT_TIMING, ...options.timing };
    this.#now = options.now ?? Date.now;
    this.#destination = options.destination;
    this.#transport = options.transport;
    this.#protector = new SrtcpProtector(options.srtcp.outgoing, { firstIndex: options.srtcp.firstIndex });
    this.#unprotector = new SrtcpUnprotector(options.srtcp.incoming);
    // werift's ICE checked consent up to now: the clock starts fresh.
    this.#lastConsentMs = this.#now();
    this.#nextCheckMs = this.#lastConsentMs + this.#checkInterval();
    this.#transport.onData = (data, from) => this.receive(data, from);
    this.#timer = setInterval(() => this.#tick(), this.#timing.reportIntervalMs);
  }

  /** The viewer's ICE ufrag: a trickle fragment with another one asks for an ICE restart. */
  get remoteUfrag(): string {
    return this.#options.ice.remoteUfrag;
  }

  get destination(): Address {
    return this.#destination;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Media: `length` bytes that `write` puts straight into the mux's send batch. */
  queueWith(length: number, write: DatagramWriter): void {
    this.#transport.queueWith(length, this.#destination, write);
  }

  /** Media: a frame's datagrams, written back to back by one `write`; false when they must go one by one. */
  queueRun(lengths: Int32Array, bytes: number, write: DatagramWriter): boolean {
    return this.#transport.queueRun(lengths, bytes, this.#destination, write);
  }

  /** One datagram from the viewer, sorted by its first byte (RFC 7983 7). */
  receive(data: Uint8Array, from: Address): void {
    if (this.#closed || data.length === 0) return;
    const first = data[0]!;
    if (first <= 3) this.#onStun(data, from);
    else if (isDtls(data)) this.#onDtls(data, from);
    else if (first >= 128 && first <= 191 && isRtcp(data)) this.#onRtcp(data);
  }

  /**
   * Says goodbye and releases the route; idempotent. The BYE (RFC 3550 6.6)
   * ends our sources; the close_notify (RFC 5246 7.2.1) ends the DTLS session,
   * and answers the viewer's own when it closed first.
   */
  close(): void {
    if (this.#closed) return;
    const ssrcs = this.#options.senderReports().map((r) => r.ssrc);
    if (ssrcs.length > 0) this.#sendRtcp(buildBye(ssrcs, this.#options.cname));
    this.#send(this.#options.closeNotify(), this.#destination);
    this.#closed = true;
    clearInterval(this.#timer);
    void this.#transport.close();
  }

  #end(reason: string): void {
    if (this.#closed) return;
    this.close();
    this.#options.onClose(reason);
  }

  #tick(): void {
    const now = this.#now();
    if (now - this.#lastConsentMs > this.#timing.consentTimeoutMs) {
      return this.#end(
        `ICE consent expired: no answer to our checks for ${this.#timing.consentTimeoutMs / 1000} s (RFC 7675)`,
      );
    }
    if (now >= this.#nextCheckMs) this.#checkConsent(now);
    this.#sendReports();
  }

  #checkInterval(): number {
    return this.#timing.consentIntervalMs * (0.8 + 0.4 * Math.random());
  }

  /** RFC 7675 5.1: a Binding request on the selected pair; its answer renews consent. */
  #checkConsent(now: number): void {
    const { ice } = this.#options;
    const transactionId = crypto.getRandomValues(new Uint8Array(12));
    const tieBreaker = ice.controlling ? { iceControlling: ice.tieBreaker } : { iceControlled: ice.tieBreaker };
    const request = buildBindingRequest({
      transactionId,
      username: `${ice.remoteUfrag}:${ice.localUfrag}`,
      password: ice.remotePassword,
      priority: ice.priority,
      ...tieBreaker,
    });
    this.#pendingCheck = transactionId;
    this.#nextCheckMs = now + this.#checkInterval();
    this.stats.consentChecks++;
    this.#send(request, this.#destination);
  }

  #onStun(data: Uint8Array, from: Address): void {
    const message = parseStun(data);
    if (!message) return;
    const { ice } = this.#options;
    if (message.type === STUN_BINDING_REQUEST) {
      // RFC 8445 7.3: answer checks that carry our ufrag and password; anything else is dropped.
      if (!message.username?.startsWith(`${ice.localUfrag}:`) || !verifyStunIntegrity(data, ice.localPassword)) return;
      this.stats.stunRequests++;
      this.#send(
        buildBindingSuccess({ transactionId: message.transactionId, mappedAddress: from, password: ice.localPassword }),
        from,
      );
      if (message.useCandidate && !sameAddress(from, this.#destination)) this.#moveTo(from);
    } else if (message.type === STUN_BINDING_SUCCESS && this.#isAnswerToCheck(message.transactionId, data)) {
      this.#pendingCheck = undefined;
      this.#lastConsentMs = this.#now();
      this.stats.consentResponses++;
    }
  }

  #isAnswerToCheck(transactionId: Uint8Array, data: Uint8Array): boolean {
    const pending = this.#pendingCheck;
    return !!pending && sameBytes(pending, transactionId) &&
      verifyStunIntegrity(data, this.#options.ice.remotePassword);
  }

  /** The controlling agent nominated another pair (a new network, NAT rebinding): media follows it. */
  #moveTo(address: Address): void {
    this.#options.logger.info("viewer moved to a new address", {
      from: this.#destination.join(":"),
      to: address.join(":"),
    });
    this.#destination = address;
    this.#lastConsentMs = this.#now(); // the nomination is a fresh, authenticated check from there
  }

  /**
   * After the handshake a DTLS record is the viewer closing (an alert:
   * close_notify when it hangs up; one that does not authenticate is
   * ignored) or repeating its last flight because ours (ChangeCipherSpec,
   * Finished) was lost: then werift's last flight is sent again, as RFC 6347
   * 4.2.4 asks of the side that sent the last flight.
   */
  #onDtls(data: Uint8Array, from: Address): void {
    const contentType = data[0];
    if (contentType === DTLS_ALERT) {
      if (this.#options.isAuthenticDtlsAlert(data)) return this.#end("the viewer closed DTLS");
      this.stats.forgedAlerts++;
      return;
    }
    if (contentType !== DTLS_HANDSHAKE && contentType !== DTLS_CHANGE_CIPHER_SPEC) return;
    const now = this.#now();
    if (now - this.#flightRepeatedMs < MIN_FLIGHT_REPEAT_MS) return;
    this.#flightRepeatedMs = now;
    this.stats.flightsRepeated++;
    this.#options.logger.info("the viewer repeated its last DTLS flight: ours goes again", {
      times: this.stats.flightsRepeated,
    });
    for (const datagram of this.#transport.lastDtlsFlight) this.#send(datagram, from);
  }

  #onRtcp(data: Uint8Array): void {
    const plain = this.#unprotector.unprotect(data);
    if (!plain) {
      this.stats.rtcpRejected++;
      return;
    }
    this.stats.rtcpIn++;
    for (const feedback of parseRtcpCompound(plain)) this.#options.onFeedback(feedback);
  }

  #sendReports(): void {
    const reports = this.#options.senderReports();
    if (reports.length === 0) return;
    this.#sendRtcp(buildSenderReports(reports, this.#options.cname));
    this.stats.reportsSent++;
  }

  #sendRtcp(plain: Uint8Array): void {
    this.#send(this.#protector.protect(plain), this.#destination);
  }

  #send(data: Uint8Array, to: Address): void {
    void this.#transport.send(Buffer.from(data.buffer, data.byteOffset, data.byteLength), to);
  }
}

/** RFC 5761 4: RTCP packet types 192-223 share the RTP range; the second byte tells. */
export function isRtcp(data: Uint8Array): boolean {
  return data.length >= 8 && data[1]! >= 192 && data[1]! <= 223;
}

function sameAddress(a: Address, b: Address): boolean {
  return a[0] === b[0] && a[1] === b[1];
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

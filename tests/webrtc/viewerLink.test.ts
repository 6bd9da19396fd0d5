import { afterEach, describe, expect, jest, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { ntpNow } from "../../lib/rtp/ntpTime.ts";
import { parseRtcpCompound, type RtcpFeedback } from "../../lib/rtp/rtcpPackets.ts";
import { SrtcpProtector, SrtcpUnprotector } from "../../lib/srtp/srtcp.ts";
import {
  buildBindingRequest,
  buildBindingSuccess,
  parseStun,
  STUN_BINDING_REQUEST,
  STUN_BINDING_SUCCESS,
  verifyStunIntegrity,
} from "../../lib/webrtc/stunMessage.ts";
import type { Address } from "../../lib/udp/udpMux.ts";
import { type LinkTiming, ViewerLink } from "../../lib/webrtc/viewerLink.ts";
import { silentLogger } from "../../lib/logger.ts";
import type { SessionKeys } from "../../lib/srtp/sessionKeys.ts";

const ICE = {
  localUfrag: "wisp",
  localPassword: "local-password-0123456789",
  remoteUfrag: "view",
  remotePassword: "remote-password-0123456789",
  controlling: false,
  tieBreaker: 0x0102030405060708n,
  priority: 2130706431,
};
const VIEWER: Address = ["127.0.0.1", 5001];
/** A stand-in for the encrypted close_notify record (alert, DTLS 1.2, epoch 1, sequence number 1). */
const CLOSE_NOTIFY_STAND_IN = Uint8Array.of(21, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 1, 0, 2, 1, 0);
const gcmKeys = (): SessionKeys => ({ profile: "AEAD_AES_128_GCM", key: randomBytes(16), salt: randomBytes(12) });

/** A stand-in for the link's MuxedTransport (a unit test): records what the link sends. */
function recordingTransport() {
  return {
    sent: [] as Array<{ data: Uint8Array; to: Address }>,
    queued: [] as Array<{ data: Uint8Array; to: Address }>,
    closed: false,
    lastDtlsFlight: [Uint8Array.of(20, 0xfe, 0xfd, 1), Uint8Array.of(22, 0xfe, 0xfd, 2)], // werift's ChangeCipherSpec, Finished
    onData: (_data: Buffer, _from: Address) => {},
    async send(data: Buffer, to?: Address) {
      this.sent.push({ data: Uint8Array.from(data), to: to! });
    },
    queueWith(length: number, to: Address, write: (into: Uint8Array, at: number) => void) {
      const into = new Uint8Array(length);
      write(into, 0);
      this.queued.push({ data: into, to });
    },
    async close() {
      this.closed = true;
    },
  };
}

const links: ViewerLink[] = [];
afterEach(() => {
  links.splice(0).forEach((link) => link.close());
  jest.useRealTimers();
});

function openLink(
  timing: Partial<LinkTiming> = {},
  reports = () => [{ ssrc: 1111, ntpTimestamp: ntpNow(), rtpTimestamp: 90_000, packetCount: 10, octetCount: 12_000 }],
) {
  const transport = recordingTransport();
  const keys = { outgoing: gcmKeys(), incoming: gcmKeys() };
  const feedback: RtcpFeedback[] = [];
  const closedWith: string[] = [];
  const link = new ViewerLink({
    transport: transport as never,
    destination: VIEWER,
    ice: ICE,
    srtcp: { ...keys, firstIndex: 5 },
    cname: "test-cname",
    isAuthenticDtlsAlert: (datagram) => datagram[3] !== 0xff, // a stand-in for the session's DTLS keys
    closeNotify: () => CLOSE_NOTIFY_STAND_IN, // the real record: tests/werift/weriftHandover.test.ts
    senderReports: reports,
    onFeedback: (f) => feedback.push(f),
    onClose: (reason) => closedWith.push(reason),
    logger: silentLogger,
    timing: { consentIntervalMs: 60_000, consentTimeoutMs: 120_000, reportIntervalMs: 60_000, ...timing },
  });
  links.push(link);
  const stunSent = () => transport.sent.filter((s) => s.data[0]! <= 3);
  const rtcpSent = () => transport.sent.filter((s) => s.data[0]! >= 128);
  return { link, transport, keys, feedback, closedWith, stunSent, rtcpSent };
}

/** What a browser sends: a check with our ufrag first (RFC 8445 7.2.2), keyed with our password. */
function viewerCheck(options: { password?: string; username?: string; useCandidate?: boolean } = {}) {
  return Buffer.from(
    buildBindingRequest({
      transactionId: randomBytes(12),
      username: options.username ?? `${ICE.localUfrag}:${ICE.remoteUfrag}`,
      password: options.password ?? ICE.localPassword,
      priority: 1845501695,
      iceControlling: 42n,
      useCandidate: options.useCandidate ?? false,
    }),
  );
}

/** RFC 4585 6.1 feedback from SSRC 7 about `mediaSsrc`: header, the two SSRCs, then the FCI. */
function feedback(packetType: number, mediaSsrc: number, fci: number[] = []): Uint8Array {
  const packet = Buffer.alloc(12 + fci.length * 2);
  packet.writeUInt8(0x81, 0); // V=2, FMT=1 (Generic NACK in RTPFB, PLI in PSFB)
  packet.writeUInt8(packetType, 1);
  packet.writeUInt16BE(packet.length / 4 - 1, 2);
  packet.writeUInt32BE(7, 4);
  packet.writeUInt32BE(mediaSsrc, 8);
  fci.forEach((word, i) => packet.writeUInt16BE(word, 12 + i * 2));
  return packet;
}

/** RFC 4585 6.2.1 Generic NACK for `pid` and the packet after it (BLP bit 0). */
const nack = (mediaSsrc: number, pid: number) => feedback(205, mediaSsrc, [pid, 1]);
/** RFC 4585 6.3.1 Picture Loss Indication. */
const pli = (mediaSsrc: number) => feedback(206, mediaSsrc);

describe("ViewerLink: a viewer's connection after werift", () => {
  test("answers ICE checks made with our credentials, from where they came, and drops the rest", () => {
    const { link, stunSent } = openLink();
    link.receive(viewerCheck(), VIEWER);
    expect(stunSent()).toHaveLength(1);
    const answer = stunSent()[0]!;
    expect(answer.to).toEqual(VIEWER);
    expect(parseStun(answer.data)?.type).toBe(STUN_BINDING_SUCCESS);
    expect(parseStun(answer.data)?.xorMappedAddress).toEqual(VIEWER);
    expect(verifyStunIntegrity(answer.data, ICE.localPassword)).toBe(true);

    link.receive(viewerCheck({ password: "not-the-password-at-all" }), VIEWER);
    link.receive(viewerCheck({ username: `someone-else:${ICE.remoteUfrag}` }), VIEWER);
    expect(stunSent()).toHaveLength(1);
  });

  test("a nomination from a new address moves the media there (RFC 8445 7.3.1.5)", () => {
    const { link, transport } = openLink();
    const moved: Address = ["127.0.0.1", 6002];
    link.receive(viewerCheck(), moved); // a check alone does not move anything
    expect(link.destination).toEqual(VIEWER);
    link.receive(viewerCheck({ useCandidate: true }), moved);
    expect(link.destination).toEqual(moved);
    link.queueWith(3, (into, at) => into.set([1, 2, 3], at));
    expect(transport.queued.at(-1)).toEqual({ data: Uint8Array.of(1, 2, 3), to: moved });
  });

  test("consent (RFC 7675): checks keyed with the viewer's password; answers keep it, silence ends the link", () => {
    jest.useFakeTimers(); // the link's timer and clock (Date.now)
    const { link, transport, stunSent, closedWith } = openLink({
      consentIntervalMs: 40,
      consentTimeoutMs: 250,
      reportIntervalMs: 10,
    });
    const answerChecks = () => {
      for (const { data } of stunSent()) {
        const check = parseStun(data);
        if (check?.type !== STUN_BINDING_REQUEST || answered.has(data)) continue;
        answered.add(data);
        link.receive(
          Buffer.from(
            buildBindingSuccess({
              transactionId: check.transactionId,
              mappedAddress: ["127.0.0.1", 40000],
              password: ICE.remotePassword,
            }),
          ),
          VIEWER,
        );
      }
    };
    const answered = new Set<Uint8Array>();
    const answering = setInterval(answerChecks, 5);
    jest.advanceTimersByTime(500); // twice the timeout: the answers kept it alive
    clearInterval(answering);
    expect(closedWith).toEqual([]);
    const first = stunSent()[0]!;
    expect(parseStun(first.data)?.username).toBe(`${ICE.remoteUfrag}:${ICE.localUfrag}`);
    expect(parseStun(first.data)?.iceControlled).toBe(ICE.tieBreaker);
    expect(verifyStunIntegrity(first.data, ICE.remotePassword)).toBe(true);
    expect(link.stats.consentResponses).toBeGreaterThanOrEqual(5);

    // An answer to no check of ours (wrong transaction) renews nothing.
    const forged = () =>
      link.receive(
        Buffer.from(
          buildBindingSuccess({ transactionId: randomBytes(12), mappedAddress: VIEWER, password: ICE.remotePassword }),
        ),
        VIEWER,
      );
    const forging = setInterval(forged, 5);
    jest.advanceTimersByTime(400);
    clearInterval(forging);
    expect(closedWith).toHaveLength(1);
    expect(closedWith[0]).toContain("consent");
    expect(link.closed).toBe(true);
    expect(transport.closed).toBe(true);
  });

  test("the viewer's SRTCP: NACK and PLI reach onFeedback; tampered packets do not", () => {
    const { link, keys, feedback } = openLink();
    const viewer = new SrtcpProtector(keys.incoming);
    link.receive(Buffer.from(viewer.protect(nack(1111, 65535))), VIEWER);
    link.receive(Buffer.from(viewer.protect(pli(1111))), VIEWER);
    const tampered = viewer.protect(nack(1111, 100));
    tampered[10]! ^= 1;
    link.receive(Buffer.from(tampered), VIEWER);
    expect(feedback).toEqual([
      { type: "nack", senderSsrc: 7, mediaSsrc: 1111, lost: [65535, 0] },
      { type: "pli", senderSsrc: 7, mediaSsrc: 1111 },
    ]);
    expect(link.stats.rtcpRejected).toBe(1);
  });

  test("sender reports go out every interval, encrypted, with the tracks' fields", () => {
    jest.useFakeTimers(); // the link's timer
    const ntp = ntpNow();
    const { rtcpSent, keys } = openLink({ reportIntervalMs: 20 }, () => [
      { ssrc: 1111, ntpTimestamp: ntp, rtpTimestamp: 90_000, packetCount: 10, octetCount: 12_000 },
      { ssrc: 2222, ntpTimestamp: ntp, rtpTimestamp: 48_000, packetCount: 50, octetCount: 4_000 },
    ]);
    jest.advanceTimersByTime(110);
    expect(rtcpSent().length).toBeGreaterThanOrEqual(3);
    const viewer = new SrtcpUnprotector(keys.outgoing);
    const plain = viewer.unprotect(rtcpSent()[0]!.data);
    expect(plain).toBeDefined();
    expect(rtcpSent()[0]!.to).toEqual(VIEWER);
    // Our parser reads the report blocks of SRs only; the SR header itself is checked byte by byte.
    const view = new DataView(plain!.buffer, plain!.byteOffset);
    expect(plain![1]).toBe(200);
    expect(view.getUint32(4)).toBe(1111);
    expect(view.getBigUint64(8)).toBe(ntp);
    expect(view.getUint32(16)).toBe(90_000);
  });

  test("a DTLS alert from the viewer (it hung up) ends the link; one that does not authenticate does not", () => {
    const { link, transport, closedWith } = openLink();
    link.receive(Buffer.from([21, 0xfe, 0xfd, 0xff, 1, 0, 0, 0, 0, 0, 5, 0, 26, ...randomBytes(26)]), VIEWER);
    expect(closedWith).toEqual([]);
    expect(link.stats.forgedAlerts).toBe(1);
    link.receive(Buffer.from([21, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 5, 0, 26, ...randomBytes(26)]), VIEWER);
    expect(closedWith).toEqual(["the viewer closed DTLS"]);
    expect(transport.closed).toBe(true);
    expect(transport.sent.at(-1)!.data).toEqual(CLOSE_NOTIFY_STAND_IN); // RFC 5246 7.2.1: answered with our own
  });

  test("the viewer repeating its last DTLS flight (ours was lost) gets werift's last flight again, once per burst", () => {
    jest.useFakeTimers(); // the link's clock (Date.now)
    const { link, transport, closedWith } = openLink();
    const dtlsSent = () => transport.sent.filter((s) => s.data[0]! >= 20 && s.data[0]! <= 63);
    const repeatedFinished = Buffer.from([22, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 4, 1, 2, 3, 4]);
    link.receive(repeatedFinished, VIEWER);
    link.receive(Buffer.from([20, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 8, 0, 1, 1]), VIEWER); // same flight, next datagram
    expect(dtlsSent().map((s) => [...s.data])).toEqual(transport.lastDtlsFlight.map((d) => [...d]));
    expect(dtlsSent()[0]!.to).toEqual(VIEWER);
    jest.advanceTimersByTime(300);
    link.receive(repeatedFinished, VIEWER); // its timer fired again: so do we
    expect(dtlsSent()).toHaveLength(4);
    expect(link.stats.flightsRepeated).toBe(2);
    expect(closedWith).toEqual([]);
  });

  test("close() says BYE (RFC 3550 6.6), then DTLS close_notify (RFC 5246 7.2.1), releases the route and ignores later datagrams", () => {
    const { link, transport, keys, stunSent, closedWith } = openLink();
    link.close();
    expect(transport.closed).toBe(true);
    expect(transport.sent.map((s) => s.to)).toEqual([VIEWER, VIEWER]);
    const [byeDatagram, closeNotify] = transport.sent.map((s) => s.data);
    const bye = new SrtcpUnprotector(keys.outgoing).unprotect(byeDatagram!)!;
    expect(parseRtcpCompound(bye).find((p) => p.type === "bye")).toEqual({ type: "bye", ssrcs: [1111] });
    expect(closeNotify).toEqual(CLOSE_NOTIFY_STAND_IN);
    link.receive(viewerCheck(), VIEWER);
    expect(stunSent()).toHaveLength(0);
    expect(closedWith).toEqual([]); // the owner closed it: no callback
  });
});

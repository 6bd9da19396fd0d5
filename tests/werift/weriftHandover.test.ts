import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import {
  closeNotifyRecord,
  dtlsGoodbye,
  type DtlsRecordKeys,
  type WeriftDtlsSocket,
} from "../../lib/werift/weriftHandover.ts";

// werift's own DTLS pieces, not exported from the package: its suite makes the keys, its parser and cipher context read our records.
import { createCipher } from "../../node_modules/werift/lib/dtls/src/cipher/create.js";
import { CipherContext } from "../../node_modules/werift/lib/dtls/src/context/cipher.js";
import { DtlsPlaintext } from "../../node_modules/werift/lib/dtls/src/record/message/plaintext.js";

const TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 = 0xc02b; // what werift and browsers agree on
const CLIENT = 1; // werift's SessionType
const SERVER = 2;
const DTLS_1_2 = 0xfefd; // RFC 6347 4.1: {254, 253}

/** A negotiated werift suite with fresh keys (as after a handshake: RFC 5246 6.3 key expansion). */
function negotiatedSuite() {
  const suite = createCipher(TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
  suite.init(randomBytes(48), randomBytes(32), randomBytes(32));
  return suite;
}

/** The viewer's side of the session: werift's record parser, then its cipher context's decrypt (it throws on a bad tag). */
function viewerReads(record: Uint8Array, suite: ReturnType<typeof negotiatedSuite>) {
  const plaintext = DtlsPlaintext.deSerialize(Buffer.from(record));
  const viewer = new CipherContext(CLIENT);
  viewer.cipher = suite;
  return { header: plaintext.recordLayerHeader, plain: [...viewer.decryptPacket(plaintext)] };
}

describe("the DTLS close_notify record (RFC 5246 7.2.1 alert in a DTLS 1.2 record, RFC 6347 4.1)", () => {
  test("header: alert, DTLS 1.2, the epoch, a 48-bit sequence number, the AEAD fragment's length; werift decrypts [1, 0]", () => {
    const suite = negotiatedSuite();
    const keys: DtlsRecordKeys = { suite, sessionType: SERVER, version: DTLS_1_2, epoch: 1 };
    const sequenceNumber = 2 ** 40 + 7; // the upper 16 bits used too
    const record = closeNotifyRecord(keys, sequenceNumber);
    const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
    expect(record[0]).toBe(21); // content type alert
    expect(view.getUint16(1)).toBe(0xfefd);
    expect(view.getUint16(3)).toBe(1);
    expect(view.getUint16(5) * 2 ** 32 + view.getUint32(7)).toBe(sequenceNumber);
    expect(view.getUint16(11)).toBe(8 + 2 + 16); // explicit nonce, level and description, GCM tag (RFC 5288 3)
    expect(record.length).toBe(13 + 26);

    const read = viewerReads(record, suite);
    expect(read.header).toMatchObject({
      contentType: 21,
      protocolVersion: { major: 254, minor: 253 },
      epoch: 1,
      sequenceNumber,
      contentLen: 26,
    });
    expect(read.plain).toEqual([1, 0]); // warning(1), close_notify(0)
  });

  test("the sequence number is authenticated: a record moved to another number does not decrypt", () => {
    const suite = negotiatedSuite();
    const record = closeNotifyRecord({ suite, sessionType: SERVER, version: DTLS_1_2, epoch: 1 }, 5);
    record[10] = 6;
    expect(() => viewerReads(record, suite)).toThrow();
  });

  test("after the hand-over: records go on from werift's last sequence number, one number each", () => {
    const suite = negotiatedSuite();
    const socket: WeriftDtlsSocket = {
      cipher: { sessionType: SERVER, cipher: suite },
      dtls: { epoch: 1, recordSequenceNumber: 4, version: { major: 254, minor: 253 } },
    };
    const goodbye = dtlsGoodbye(socket)!;
    socket.dtls.recordSequenceNumber = 99; // werift's counter is read once, at the hand-over
    const numbers = [goodbye.closeNotify(), goodbye.closeNotify()].map((record) =>
      viewerReads(record, suite).header.sequenceNumber
    );
    expect(numbers).toEqual([5, 6]);
  });

  test("the viewer's own close_notify authenticates; the same bytes under other keys do not", () => {
    const suite = negotiatedSuite();
    const ours = dtlsGoodbye({
      cipher: { sessionType: SERVER, cipher: suite },
      dtls: { epoch: 1, recordSequenceNumber: 0, version: { major: 254, minor: 253 } },
    })!;
    const viewersAlert = closeNotifyRecord({ suite, sessionType: CLIENT, version: DTLS_1_2, epoch: 1 }, 3);
    expect(ours.isAuthenticDtlsAlert(viewersAlert)).toBe(true);
    const forged = closeNotifyRecord({ suite: negotiatedSuite(), sessionType: CLIENT, version: DTLS_1_2, epoch: 1 }, 3);
    expect(ours.isAuthenticDtlsAlert(forged)).toBe(false);
  });
});

import { describe, expect, test } from "bun:test";
import { createDecipheriv, randomBytes } from "node:crypto";
import type { RtpPayload } from "../../lib/rtp/rtpPayload.ts";
import { SrtpEncryptor } from "../../lib/srtp/srtpEncryptor.ts";
import { frameSealingAvailable } from "../../lib/srtp/srtpFrameSealer.ts";
import { type MediaLink, SrtpSink } from "../../lib/srtp/srtpSink.ts";

const SSRC = 0x8badf00d;

/** A MediaLink that records what it is given, datagram by datagram; runs are taken whole, as the mux takes them. */
function recordingLink() {
  const datagrams: Buffer[] = [];
  let runs = 0;
  const link = {
    closed: false as boolean,
    queueWith(length: number, write: (into: Uint8Array, at: number) => void) {
      const into = Buffer.alloc(length + 7); // written at an offset, as into a batch's slab
      write(into, 7);
      datagrams.push(into.subarray(7));
    },
    queueRun(lengths: Int32Array, bytes: number, write: (into: Uint8Array, at: number) => void) {
      const into = Buffer.alloc(bytes + 3);
      write(into, 3);
      let at = 3;
      for (const length of lengths) datagrams.push(into.subarray(at, at += length));
      runs++;
      return true;
    },
  } satisfies MediaLink;
  return { link, datagrams, runs: () => runs };
}

/** RFC 7714 8: the receiver's side of AEAD_AES_128_GCM, with node:crypto: IV = (00 00 || SSRC || ROC || SEQ) XOR salt, the header as AAD. */
function openGcm(datagram: Buffer, key: Buffer, salt: Buffer, rollover: number): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeUInt32BE(datagram.readUInt32BE(8), 2);
  iv.writeUInt32BE(rollover, 6);
  iv.writeUInt16BE(datagram.readUInt16BE(2), 10);
  for (let i = 0; i < 12; i++) iv[i]! ^= salt[i]!;
  const decipher = createDecipheriv("aes-128-gcm", key, iv);
  decipher.setAAD(datagram.subarray(0, 12));
  decipher.setAuthTag(datagram.subarray(-16));
  return Buffer.concat([decipher.update(datagram.subarray(12, -16)), decipher.final()]);
}

function gcmSink(options: { nativeFrames?: boolean } = {}) {
  const key = randomBytes(16);
  const salt = randomBytes(12);
  const recorded = recordingLink();
  const srtp = new SrtpEncryptor({ profile: "AEAD_AES_128_GCM", key, salt });
  return { key, salt, ...recorded, sink: new SrtpSink(recorded.link, { srtp, ssrc: SSRC, payloadType: 96 }, options) };
}

describe("SrtpSink, packet by packet", () => {
  test("RFC 3550 header with the track's SSRC and payload type, the index's sequence number; sealed under the index's ROC (RFC 3711 3.3.1)", () => {
    const { sink, datagrams, key, salt } = gcmSink();
    const payloads = [randomBytes(1000), randomBytes(1), randomBytes(0)];
    const firstIndex = 0x10000 - 2; // crosses a sequence-number rollover: ROC 0 -> 1
    payloads.forEach((payload, i) => expect(sink.send(firstIndex + i, 0xfffffff0 + i, i === 2, payload)).toBe(true));
    expect(datagrams.map((d) => d.length)).toEqual(payloads.map((p) => 12 + p.length + 16));
    datagrams.forEach((d, i) => {
      expect(d[0]).toBe(0x80); // V=2, no padding, extension or CSRC
      expect(d[1]).toBe((i === 2 ? 0x80 : 0) | 96);
      expect(d.readUInt16BE(2)).toBe((firstIndex + i) & 0xffff);
      expect(d.readUInt32BE(4)).toBe(0xfffffff0 + i);
      expect(d.readUInt32BE(8)).toBe(SSRC);
      expect(openGcm(d, key, salt, Math.floor((firstIndex + i) / 0x10000)).equals(payloads[i]!)).toBe(true);
    });
  });

  test("the same index seals to the same bytes: a retransmission is the packet again", () => {
    const { sink, datagrams } = gcmSink();
    const payload = randomBytes(300);
    sink.send(4242, 9000, true, payload);
    sink.send(4242, 9000, true, payload);
    expect(datagrams[1]!.equals(datagrams[0]!)).toBe(true);
  });

  test("a closed link takes nothing: send and sendFrame say so", () => {
    const { sink, datagrams, link } = gcmSink();
    link.closed = true;
    expect(sink.send(1, 0, false, randomBytes(10))).toBe(false);
    expect(sink.sendFrame([{ payload: randomBytes(10), timestamp: 0, marker: true }], 2, 0)).toBe(false);
    expect(datagrams).toHaveLength(0);
  });

  test("AES_CM_128_HMAC_SHA1_80: packets carry the 80-bit tag; no native frames for it", () => {
    const srtp = new SrtpEncryptor({
      profile: "AES_CM_128_HMAC_SHA1_80",
      key: randomBytes(16),
      salt: randomBytes(14),
      authKey: randomBytes(20),
    });
    const { link, datagrams } = recordingLink();
    const sink = new SrtpSink(link, { srtp, ssrc: SSRC, payloadType: 111 });
    expect(sink.sealsFrames).toBe(false);
    expect(sink.sendFrame([{ payload: randomBytes(10), timestamp: 0, marker: true }], 1, 0)).toBe(false);
    expect(sink.send(1, 0, true, randomBytes(10))).toBe(true);
    expect(datagrams[0]!.length).toBe(12 + 10 + 10);
  });
});

describe("SrtpSink, whole frames (lib/srtp/srtpFrameSealer.ts)", () => {
  const frame = (timestamp: number): RtpPayload[] =>
    [1172, 1172, 1, 0, 600].map((size, i, all) => ({
      payload: randomBytes(size),
      timestamp,
      marker: i === all.length - 1,
    }));

  test.skipIf(!frameSealingAvailable())(
    "one run per frame, byte for byte what packet-by-packet sealing makes, across a rollover",
    () => {
      const native = gcmSink();
      const srtp = new SrtpEncryptor({ profile: "AEAD_AES_128_GCM", key: native.key, salt: native.salt });
      const reference = recordingLink();
      const perPacket = new SrtpSink(reference.link, { srtp, ssrc: SSRC, payloadType: 96 }, { nativeFrames: false });
      expect([native.sink.sealsFrames, perPacket.sealsFrames]).toEqual([true, false]);
      const packets = frame(0xfffffff0);
      const firstIndex = 0xfffe; // sequence 65534: the frame crosses into rollover counter 1
      expect(native.sink.sendFrame(packets, firstIndex, 0x20)).toBe(true);
      expect(perPacket.sendFrame(packets, firstIndex, 0x20)).toBe(false); // the track then goes packet by packet
      packets.forEach((p, i) => perPacket.send(firstIndex + i, (p.timestamp + 0x20) >>> 0, p.marker, p.payload));
      expect(native.runs()).toBe(1);
      expect(native.datagrams.map((d) => d.toString("hex"))).toEqual(reference.datagrams.map((d) => d.toString("hex")));
      const first = native.datagrams[0]!;
      expect(first.readUInt16BE(2)).toBe(0xfffe);
      expect(first.readUInt32BE(4)).toBe(0x10); // (0xfffffff0 + 0x20) mod 2^32
      expect(openGcm(native.datagrams[2]!, native.key, native.salt, 1).equals(packets[2]!.payload)).toBe(true); // sequence 0, ROC 1
    },
  );
});

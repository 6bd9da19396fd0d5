import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { createAesGcmSealer, nativeGcmContext } from "../../lib/srtp/aesGcm.ts";
import type { RtpPayload } from "../../lib/rtp/rtpPayload.ts";
import { SrtpEncryptor } from "../../lib/srtp/srtpEncryptor.ts";
import {
  frameSealingAvailable,
  GCM_DATAGRAM_OVERHEAD,
  sealableFrame,
  sealFrame,
} from "../../lib/srtp/srtpFrameSealer.ts";

/** The reference: SrtpEncryptor packet by packet (itself checked against werift and RFC 7714 vectors). */
function perPacket(
  key: Buffer,
  salt: Buffer,
  packets: RtpPayload[],
  ssrc: number,
  firstIndex: number,
  timestampAdd: number,
): Buffer {
  const encryptor = new SrtpEncryptor({ profile: "AEAD_AES_128_GCM", key, salt });
  const datagrams = packets.map((p, i) => {
    const index = firstIndex + i;
    const header = {
      ssrc,
      payloadType: 96,
      sequenceNumber: index % 0x10000,
      timestamp: (p.timestamp + timestampAdd) >>> 0,
      marker: p.marker,
    };
    return encryptor.encrypt(header, Math.floor(index / 0x10000), p.payload);
  });
  return Buffer.concat(datagrams);
}

function frame(sizes: number[], timestamp: number): RtpPayload[] {
  return sizes.map((size, i) => ({ payload: randomBytes(size), timestamp, marker: i === sizes.length - 1 }));
}

describe.skipIf(!frameSealingAvailable())("sealFrame (lib/srtp/srtpFrame.c)", () => {
  const key = randomBytes(16);
  const salt = randomBytes(12);
  const context = nativeGcmContext(createAesGcmSealer(key))!;

  test.each(
    [
      ["a 720p picture", [1172, 1172, 1172, 640], 0x1234, 0, 0],
      [
        "SSRC and timestamp offset above 2^31 (32-bit fields pass as i32)",
        [1172, 500],
        0xdeadbeef,
        0x7ffffff0,
        0xfffffff0,
      ],
      ["an empty and a one-byte payload", [0, 1], 0x80000000, 42, 1],
      ["across a rollover of the sequence number", [100, 100, 100], 7, 0x2fffe, 3000],
    ] as const,
  )("byte for byte what SrtpEncryptor makes packet by packet: %s", (_, sizes, ssrc, firstIndex, timestampAdd) => {
    const packets = frame([...sizes], 0xfffff000);
    const layout = sealableFrame(packets);
    const out = Buffer.alloc(layout.datagramBytes + 8, 0xee);
    sealFrame(layout, { context, salt, ssrc, payloadType: 96 }, firstIndex, timestampAdd, out, 4);
    expect(out.subarray(4, 4 + layout.datagramBytes).toString("hex")).toBe(
      perPacket(key, salt, packets, ssrc, firstIndex, timestampAdd).toString("hex"),
    );
    expect([...out.subarray(0, 4), ...out.subarray(4 + layout.datagramBytes)]).toEqual(new Array(8).fill(0xee)); // nothing around it
    expect([...layout.datagramLengths]).toEqual(sizes.map((s) => s + GCM_DATAGRAM_OVERHEAD));
  });

  test("a frame is laid out once, whoever asks; the layout is a copy, so the payloads stay untouched", () => {
    const packets = frame([300, 200], 90_000);
    const copy = packets.map((p) => Buffer.from(p.payload));
    expect(sealableFrame(packets)).toBe(sealableFrame(packets));
    expect(sealableFrame(packets)).not.toBe(sealableFrame([...packets]));
    sealFrame(sealableFrame(packets), { context, salt, ssrc: 1, payloadType: 96 }, 0, 0, Buffer.alloc(1000), 0);
    packets.forEach((p, i) => expect(Buffer.from(p.payload).equals(copy[i]!)).toBe(true));
  });

  test("refuses output that does not fit, or a salt that is not 12 bytes, before writing anything", () => {
    const layout = sealableFrame(frame([500], 0));
    const out = Buffer.alloc(layout.datagramBytes + 10, 0xee);
    expect(() => sealFrame(layout, { context, salt, ssrc: 1, payloadType: 96 }, 0, 0, out, 11)).toThrow(RangeError);
    expect(() => sealFrame(layout, { context, salt: salt.subarray(0, 11), ssrc: 1, payloadType: 96 }, 0, 0, out, 0))
      .toThrow(RangeError);
    expect(out.every((b) => b === 0xee)).toBe(true);
  });
});

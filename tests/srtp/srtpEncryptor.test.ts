import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { RtpHeader, SrtpSession } from "werift";
import type { SrtpProfile } from "../../lib/srtp/sessionKeys.ts";
import { SrtpEncryptor } from "../../lib/srtp/srtpEncryptor.ts";

const WERIFT_PROFILE: Record<SrtpProfile, number> = { AES_CM_128_HMAC_SHA1_80: 0x0001, AEAD_AES_128_GCM: 0x0007 };
const SALT_SIZE: Record<SrtpProfile, number> = { AES_CM_128_HMAC_SHA1_80: 14, AEAD_AES_128_GCM: 12 };

/** A werift sender and receiver on the same master keys, and our encryptor on the sender's session keys. */
function pair(profile: SrtpProfile) {
  const key = randomBytes(16);
  const salt = randomBytes(SALT_SIZE[profile]);
  const other = { key: randomBytes(16), salt: randomBytes(SALT_SIZE[profile]) };
  const keys = (local: { key: Buffer; salt: Buffer }, remote: { key: Buffer; salt: Buffer }) => ({
    keys: {
      localMasterKey: local.key,
      localMasterSalt: local.salt,
      remoteMasterKey: remote.key,
      remoteMasterSalt: remote.salt,
    },
    profile: WERIFT_PROFILE[profile],
  });
  const weriftSender = new SrtpSession(keys({ key, salt }, other) as never);
  const weriftReceiver = new SrtpSession(keys(other, { key, salt }) as never);
  const context = (weriftSender as unknown as {
    localContext: { srtpSessionKey: Buffer; srtpSessionSalt: Buffer; srtpSessionAuthTag: Buffer };
  }).localContext;
  const ours = new SrtpEncryptor({
    profile,
    key: context.srtpSessionKey,
    salt: context.srtpSessionSalt,
    authKey: context.srtpSessionAuthTag,
  });
  return { ours, weriftSender, weriftReceiver };
}

const header = (sequenceNumber: number, marker = false) => ({
  ssrc: 0x8badf00d,
  payloadType: 96,
  sequenceNumber,
  timestamp: 0xfffffff0,
  marker,
});

describe.each(["AEAD_AES_128_GCM", "AES_CM_128_HMAC_SHA1_80"] as const)("SrtpEncryptor %s", (profile) => {
  test("byte-identical to werift's SRTP for the first rollover period", () => {
    const { ours, weriftSender } = pair(profile);
    for (const [seq, size] of [[1, 1172], [2, 1], [3, 0], [65535, 300]] as const) {
      const payload = randomBytes(size);
      const theirs = weriftSender.encrypt(payload, new RtpHeader({ ...header(seq, seq === 2) }));
      expect(ours.encrypt(header(seq, seq === 2), 0, payload).equals(theirs)).toBe(true);
    }
  });

  test("a receiver decrypts and authenticates it, across a rollover of the sequence number", () => {
    const { ours, weriftReceiver } = pair(profile);
    // RFC 3711 3.3.1: the receiver follows the ROC from the sequence numbers it sees.
    for (let index = 65530; index < 65545; index++) {
      const payload = randomBytes(100 + index % 7);
      const datagram = ours.encrypt(header(index & 0xffff), Math.floor(index / 65536), payload);
      expect(datagram.length).toBe(12 + payload.length + ours.overhead);
      const clear = weriftReceiver.decrypt(datagram);
      expect(Buffer.from(clear.subarray(12)).equals(payload)).toBe(true);
      expect(clear.readUInt16BE(2)).toBe(index & 0xffff);
    }
  });

  test("a wrong rollover counter fails authentication (the ROC is part of the IV or tag)", () => {
    const { ours, weriftReceiver } = pair(profile);
    expect(() => weriftReceiver.decrypt(ours.encrypt(header(7), 1, randomBytes(50)))).toThrow();
  });

  test("encryptInto writes the same datagram at an offset and nothing around it; one that does not fit is refused", () => {
    const { ours } = pair(profile);
    const payload = randomBytes(1000);
    const alone = ours.encrypt(header(9), 0, payload);
    const slab = Buffer.alloc(alone.length + 100, 0xee);
    ours.encryptInto(header(9), 0, payload, slab, 50);
    expect(slab.subarray(50, 50 + alone.length).equals(alone)).toBe(true);
    expect([...slab.subarray(0, 50), ...slab.subarray(50 + alone.length)].every((b) => b === 0xee)).toBe(true);
    expect(() => ours.encryptInto(header(9), 0, payload, slab, 101)).toThrow(RangeError);
  });

  test("the header goes out in the clear with marker and payload type", () => {
    const { ours } = pair(profile);
    const datagram = ours.encrypt(header(0x1234, true), 0, randomBytes(10));
    expect([...datagram.subarray(0, 12)]).toEqual([
      0x80,
      0x80 | 96,
      0x12,
      0x34,
      0xff,
      0xff,
      0xff,
      0xf0,
      0x8b,
      0xad,
      0xf0,
      0x0d,
    ]);
  });
});

test("AES-CM without an authentication key is refused", () => {
  expect(() => new SrtpEncryptor({ profile: "AES_CM_128_HMAC_SHA1_80", key: randomBytes(16), salt: randomBytes(14) }))
    .toThrow(/authentication key/);
});

test("AES-GCM: the libcrypto and node:crypto backends make the same datagrams", () => {
  const keys = { profile: "AEAD_AES_128_GCM" as const, key: randomBytes(16), salt: randomBytes(12) };
  const viaLibcrypto = new SrtpEncryptor(keys, { gcmBackend: "libcrypto" });
  const viaNode = new SrtpEncryptor(keys, { gcmBackend: "node:crypto" });
  for (const [index, size] of [[1, 1172], [65535, 0], [65536, 1], [0x2_0000_0007, 1400]] as const) {
    const payload = randomBytes(size);
    const rollover = Math.floor(index / 65536);
    expect(
      viaLibcrypto.encrypt(header(index & 0xffff), rollover, payload).equals(
        viaNode.encrypt(header(index & 0xffff), rollover, payload),
      ),
    ).toBe(true);
  }
});

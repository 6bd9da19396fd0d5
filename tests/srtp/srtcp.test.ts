import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { RtcpPacketConverter, SrtcpSession } from "werift";
import { SrtcpProtector, SrtcpUnprotector } from "../../lib/srtp/srtcp.ts";
import type { SessionKeys, SrtpProfile } from "../../lib/srtp/sessionKeys.ts";

const PROFILES = ["AEAD_AES_128_GCM", "AES_CM_128_HMAC_SHA1_80"] as const;
const WERIFT_PROFILE = { AES_CM_128_HMAC_SHA1_80: 0x0001, AEAD_AES_128_GCM: 0x0007 } as const; // RFC 5764 4.1.2, RFC 7714 14.2
const SALT_SIZE: Record<SrtpProfile, number> = { AES_CM_128_HMAC_SHA1_80: 14, AEAD_AES_128_GCM: 12 };
const TRAILER_SIZE: Record<SrtpProfile, number> = { AES_CM_128_HMAC_SHA1_80: 4 + 10, AEAD_AES_128_GCM: 16 + 4 };

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ""), "hex");

// --- RTCP written by hand --------------------------------------------------------

/** RFC 3550 6.4.2 receiver report with one report block + 6.5 SDES CNAME "wisp-viewer", as one compound packet. */
const RR_SDES = hex(
  [
    "81c90007 11223344", // RR, RC=1, length 7 (32-bit words - 1), reporter SSRC
    "8badf00d", // report block: source SSRC
    "05 00002a", // fraction lost 5/256, cumulative lost 42
    "0001 1234", // extended highest sequence number: cycle 1, 0x1234
    "000001c2", // interarrival jitter 450
    "a1b2c3d4 00008000", // LSR, DLSR 0.5 s
    "81ca0005 11223344", // SDES, SC=1, length 5; chunk SSRC
    "01 0b 776973702d766965776572 000000", // CNAME, 11 octets "wisp-viewer"; END; pad to 32 bits
  ].join(""),
);

/** RFC 4585 6.2.1 generic NACK: PID 0x1234, BLP 0b101 (0x1235 and 0x1237 lost too). */
const NACK = hex("81cd0003 11223344 8badf00d 12340005");
/** RFC 4585 6.3.1 picture loss indication, from another SSRC (its own SRTCP index). */
const PLI = hex("81ce0002 55667788 8badf00d");

/** RFC 7714 17: the sender report every SRTCP AEAD vector uses (SSRC "Mars"). */
const RFC7714_RTCP = hex(
  "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61 deadbeef deadbeef deadbeef deadbeef deadbeef",
);
/** RFC 7714 16, 17: session key and salt ("Quid pro quo") given directly. */
const RFC7714_KEYS: SessionKeys = {
  profile: "AEAD_AES_128_GCM",
  key: hex("000102030405060708090a0b0c0d0e0f"),
  salt: hex("517569642070726f2071756f"),
};
/** RFC 7714 17.1: RFC7714_RTCP encrypted with SRTCP index 0x5d4. */
const RFC7714_17_1 = hex(`81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d c676a5f1 730d6fda
  4ce09b46 86303ded 0bb9275b c84aa458 96cf4d2f c5abf872 45d9eade 800005d4`);
/** RFC 7714 17.3: the same packet authenticated only (E=0), index 0x5d4. */
const RFC7714_17_3 = hex(`81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61 deadbeef deadbeef
  deadbeef deadbeef deadbeef 841dd968 3dd78ec9 2ae58790 125f62b3 000005d4`);

const PACKETS = [RR_SDES, NACK, PLI, NACK, RR_SDES, PLI, NACK] as const;

// --- werift on fixed master keys -------------------------------------------------

const MASTER = { key: hex("e1f97a0d3e018be0d64fa32c06de4139"), salt: hex("0ec675ad498afeebb6960b3aabe6") };
const OTHER_MASTER = { key: hex("000102030405060708090a0b0c0d0e0f"), salt: hex("a0a1a2a3a4a5a6a7a8a9aaabacad") };

interface Master {
  key: Buffer;
  salt: Buffer;
}

function weriftSession(profile: SrtpProfile, local: Master, remote: Master): SrtcpSession {
  const size = SALT_SIZE[profile];
  const keys = {
    localMasterKey: local.key,
    localMasterSalt: local.salt.subarray(0, size),
    remoteMasterKey: remote.key,
    remoteMasterSalt: remote.salt.subarray(0, size),
  };
  return new SrtcpSession({ keys, profile: WERIFT_PROFILE[profile] });
}

/** werift's sender (MASTER) and receiver, and the SRTCP session keys its sender derived (RFC 3711 4.3, labels 3-5). */
function setup(profile: SrtpProfile) {
  const weriftSender = weriftSession(profile, MASTER, OTHER_MASTER);
  const weriftReceiver = weriftSession(profile, OTHER_MASTER, MASTER);
  const context = weriftSender.localContext;
  const keys: SessionKeys = {
    profile,
    key: context.srtcpSessionKey,
    salt: context.srtcpSessionSalt,
    authKey: context.srtcpSessionAuthTag,
  };
  const otherContext = weriftReceiver.localContext;
  const wrongKeys: SessionKeys = {
    profile,
    key: otherContext.srtcpSessionKey,
    salt: otherContext.srtcpSessionSalt,
    authKey: otherContext.srtcpSessionAuthTag,
  };
  return { weriftSender, weriftReceiver, keys, wrongKeys };
}

const trailerWord = (profile: SrtpProfile, packet: Uint8Array) =>
  Buffer.from(packet).readUInt32BE(profile === "AEAD_AES_128_GCM" ? packet.length - 4 : packet.length - 14);

const flipped = (packet: Uint8Array, at: number, mask = 0x01) => {
  const copy = Buffer.from(packet);
  copy[at]! ^= mask;
  return copy;
};

test("the hand-written RTCP fixtures are well-formed RTCP (werift parses them)", () => {
  expect(RtcpPacketConverter.deSerialize(RR_SDES).map((p) => p.type)).toEqual([201, 202]);
  expect(RtcpPacketConverter.deSerialize(NACK).map((p) => p.type)).toEqual([205]);
  expect(RtcpPacketConverter.deSerialize(PLI).map((p) => p.type)).toEqual([206]);
  expect(RR_SDES.length).toBe(32 + 24);
});

describe.each(PROFILES)("SRTCP %s", (profile) => {
  test("protect() is byte-identical to werift's encrypt(), index counting from 1 per sender SSRC", () => {
    const { weriftSender, keys } = setup(profile);
    const ours = new SrtcpProtector(keys);
    const expectedIndex = new Map<number, number>();
    for (const rtcp of PACKETS) {
      const ssrc = rtcp.readUInt32BE(4);
      expectedIndex.set(ssrc, (expectedIndex.get(ssrc) ?? 0) + 1);
      const protectedPacket = ours.protect(rtcp);
      expect(Buffer.from(protectedPacket).equals(weriftSender.encrypt(rtcp))).toBe(true);
      expect(protectedPacket.length).toBe(rtcp.length + TRAILER_SIZE[profile]);
      expect(trailerWord(profile, protectedPacket)).toBe((0x80000000 | expectedIndex.get(ssrc)!) >>> 0); // E=1
      expect(Buffer.from(protectedPacket.subarray(0, 8)).equals(rtcp.subarray(0, 8))).toBe(true); // RFC 3711 3.4: first 8 octets clear
      expect(Buffer.from(protectedPacket.subarray(8, rtcp.length)).equals(rtcp.subarray(8))).toBe(false);
    }
  });

  test("unprotect() opens werift's packets, including indices past 2^16", () => {
    const { weriftSender, keys } = setup(profile);
    const ours = new SrtcpUnprotector(keys);
    for (const rtcp of PACKETS) {
      expect(Buffer.from(ours.unprotect(weriftSender.encrypt(rtcp))!).equals(rtcp)).toBe(true);
    }
    weriftSender.localContext.setIndex(NACK.readUInt32BE(4), 0x1fffe); // its next index is 0x1ffff: both halves of the IV's index
    const far = weriftSender.encrypt(NACK);
    expect(trailerWord(profile, far)).toBe(0x8001ffff);
    expect(Buffer.from(ours.unprotect(far)!).equals(NACK)).toBe(true);
    expect(ours.rejected).toEqual({ malformed: 0, unauthenticated: 0, replayed: 0 });
  });

  test("werift decrypts and authenticates protect()'s packets", () => {
    const { weriftReceiver, keys } = setup(profile);
    const ours = new SrtcpProtector(keys);
    for (const rtcp of PACKETS) expect(weriftReceiver.decrypt(Buffer.from(ours.protect(rtcp))).equals(rtcp)).toBe(true);
  });

  test("a flipped bit in the clear header, ciphertext, tag, index or E flag, or the wrong key, fails authentication", () => {
    const { keys, wrongKeys } = setup(profile);
    const packet = new SrtcpProtector(keys).protect(RR_SDES);
    const tagAt = profile === "AEAD_AES_128_GCM" ? RR_SDES.length : packet.length - 10;
    const indexAt = profile === "AEAD_AES_128_GCM" ? packet.length - 4 : RR_SDES.length;
    const altered = [
      flipped(packet, 1), // packet type
      flipped(packet, 7), // sender SSRC
      flipped(packet, 8), // first encrypted octet
      flipped(packet, RR_SDES.length - 1), // last encrypted octet
      flipped(packet, tagAt), // tag
      flipped(packet, tagAt + (profile === "AEAD_AES_128_GCM" ? 15 : 9)),
      flipped(packet, indexAt + 3), // index
      flipped(packet, indexAt, 0x80), // E flag
    ];
    const ours = new SrtcpUnprotector(keys);
    for (const bad of altered) expect(ours.unprotect(bad)).toBeUndefined();
    expect(new SrtcpUnprotector(wrongKeys).unprotect(packet)).toBeUndefined();
    expect(ours.rejected).toEqual({ malformed: 0, unauthenticated: altered.length, replayed: 0 });
    expect(Buffer.from(ours.unprotect(packet)!).equals(RR_SDES)).toBe(true); // failures left no replay state behind
  });

  test("replays are rejected: a repeated index, or one 64 or more behind the newest; each SSRC on its own (RFC 3711 3.3.2)", () => {
    const { weriftSender, keys } = setup(profile);
    const nacks = Array.from({ length: 70 }, () => weriftSender.encrypt(NACK)); // indices 1..70
    const pli = weriftSender.encrypt(PLI); // index 1 of another SSRC
    const ours = new SrtcpUnprotector(keys);
    expect(ours.unprotect(nacks[69]!)).toBeDefined(); // 70
    expect(ours.unprotect(nacks[69]!)).toBeUndefined(); // 70 again
    expect(ours.unprotect(nacks[6]!)).toBeDefined(); // 7: 63 behind, inside the window
    expect(ours.unprotect(nacks[6]!)).toBeUndefined(); // 7 again
    expect(ours.unprotect(nacks[5]!)).toBeUndefined(); // 6: 64 behind, outside
    expect(ours.unprotect(nacks[68]!)).toBeDefined(); // 69: late but new
    expect(ours.unprotect(pli)).toBeDefined(); // index 1 of the PLI's SSRC
    expect(ours.rejected).toEqual({ malformed: 0, unauthenticated: 0, replayed: 3 });
  });

  test("an authenticated but unencrypted packet (E=0) passes through", () => {
    const { keys } = setup(profile);
    const packet = profile === "AEAD_AES_128_GCM" ? RFC7714_17_3 : unencryptedCm(keys, NACK, 5);
    const expected = profile === "AEAD_AES_128_GCM" ? RFC7714_RTCP : NACK;
    const ours = new SrtcpUnprotector(profile === "AEAD_AES_128_GCM" ? RFC7714_KEYS : keys);
    expect(Buffer.from(ours.unprotect(packet)!).equals(expected)).toBe(true);
    expect(new SrtcpUnprotector(profile === "AEAD_AES_128_GCM" ? RFC7714_KEYS : keys).unprotect(flipped(packet, 12)))
      .toBeUndefined();
  });

  test("truncated or garbage input gives undefined, never an exception", () => {
    const { keys } = setup(profile);
    const packet = new SrtcpProtector(keys).protect(RR_SDES);
    const ours = new SrtcpUnprotector(keys);
    for (let length = 0; length < packet.length; length++) {
      expect(() => ours.unprotect(packet.subarray(0, length))).not.toThrow();
      expect(ours.unprotect(packet.subarray(0, length))).toBeUndefined();
    }
    expect(ours.unprotect(new Uint8Array(64))).toBeUndefined(); // version 0
    expect(ours.unprotect(flipped(packet, 0, 0xc0))).toBeUndefined(); // version 1
    expect(ours.unprotect(Buffer.alloc(64, 0x80))).toBeUndefined();
    const tooShort = 8 + TRAILER_SIZE[profile] - 1;
    expect(ours.rejected.malformed).toBe(2 * (tooShort + 1) + 2);
    expect(Buffer.from(ours.unprotect(packet)!).equals(RR_SDES)).toBe(true);
  });

  test("firstIndex continues another sender's count: byte-identical to werift past its index 0x1fffe", () => {
    const { weriftSender, keys } = setup(profile);
    for (const rtcp of [NACK, PLI]) weriftSender.localContext.setIndex(rtcp.readUInt32BE(4), 0x1fffe);
    const ours = new SrtcpProtector(keys, { firstIndex: 0x1ffff });
    for (const rtcp of [NACK, PLI, NACK, NACK]) {
      expect(Buffer.from(ours.protect(rtcp)).equals(weriftSender.encrypt(rtcp))).toBe(true);
    }
  });

  test("the index never wraps: after 2^31-1 protect() throws (RFC 3711 3.3.1: re-key)", () => {
    const ours = new SrtcpProtector(setup(profile).keys, { firstIndex: 0x7fffffff });
    expect(trailerWord(profile, ours.protect(NACK))).toBe(0xffffffff);
    expect(() => ours.protect(NACK)).toThrow(/exhausted/);
    expect(trailerWord(profile, ours.protect(PLI))).toBe(0xffffffff); // another SSRC has its own count
    for (const firstIndex of [-1, 0x80000000, 1.5]) {
      expect(() => new SrtcpProtector(setup(profile).keys, { firstIndex })).toThrow(RangeError);
    }
  });

  test("RTCP under 8 bytes is refused by protect()", () => {
    expect(() => new SrtcpProtector(setup(profile).keys).protect(NACK.subarray(0, 7))).toThrow(RangeError);
  });
});

/** RFC 3711 3.4 with E=0: RTCP in the clear, E+index, HMAC-SHA1-80 over both; built apart from lib/. */
function unencryptedCm(keys: SessionKeys, rtcp: Buffer, index: number): Buffer {
  const indexWord = Buffer.alloc(4);
  indexWord.writeUInt32BE(index);
  const authenticated = Buffer.concat([rtcp, indexWord]);
  return Buffer.concat([
    authenticated,
    createHmac("sha1", keys.authKey!).update(authenticated).digest().subarray(0, 10),
  ]);
}

describe("RFC 7714 17 test vectors (AEAD_AES_128_GCM, session keys given)", () => {
  test("17.1: unprotect() opens the encrypted vector", () => {
    expect(Buffer.from(new SrtcpUnprotector(RFC7714_KEYS).unprotect(RFC7714_17_1)!).equals(RFC7714_RTCP)).toBe(true);
  });

  test("17.1: protect() makes the vector, counting up to index 0x5d4 or starting there", () => {
    const counting = new SrtcpProtector(RFC7714_KEYS);
    for (let index = 1; index < 0x5d4; index++) counting.protect(RFC7714_RTCP);
    expect(Buffer.from(counting.protect(RFC7714_RTCP)).toString("hex")).toBe(RFC7714_17_1.toString("hex"));
    const starting = new SrtcpProtector(RFC7714_KEYS, { firstIndex: 0x5d4 });
    expect(Buffer.from(starting.protect(RFC7714_RTCP)).toString("hex")).toBe(RFC7714_17_1.toString("hex"));
  });

  test("17.3: the E=0 vector authenticates, and a changed byte of it does not", () => {
    const ours = new SrtcpUnprotector(RFC7714_KEYS);
    expect(ours.unprotect(flipped(RFC7714_17_3, 20))).toBeUndefined();
    expect(Buffer.from(ours.unprotect(RFC7714_17_3)!).equals(RFC7714_RTCP)).toBe(true);
  });
});

describe("session keys", () => {
  const key = hex("000102030405060708090a0b0c0d0e0f");
  test("AES-CM without a 20-byte authentication key, a short key or a short salt are refused", () => {
    expect(() => new SrtcpProtector({ profile: "AES_CM_128_HMAC_SHA1_80", key, salt: Buffer.alloc(14) })).toThrow(
      /authentication key/,
    );
    expect(() =>
      new SrtcpUnprotector({
        profile: "AES_CM_128_HMAC_SHA1_80",
        key,
        salt: Buffer.alloc(14),
        authKey: Buffer.alloc(10),
      })
    ).toThrow(/authentication key/);
    expect(() => new SrtcpProtector({ profile: "AEAD_AES_128_GCM", key: key.subarray(0, 15), salt: Buffer.alloc(12) }))
      .toThrow(/16 bytes/);
    expect(() => new SrtcpProtector({ profile: "AEAD_AES_128_GCM", key, salt: Buffer.alloc(11) })).toThrow(/salt/);
  });

  test("a 14-byte salt (werift's srtcpSessionSalt) is cut to 12 for GCM", () => {
    const twelve = new SrtcpProtector({ ...RFC7714_KEYS }).protect(NACK);
    const fourteen = new SrtcpProtector({ ...RFC7714_KEYS, salt: Buffer.concat([RFC7714_KEYS.salt, hex("ffff")]) })
      .protect(NACK);
    expect(Buffer.from(fourteen).equals(Buffer.from(twelve))).toBe(true);
  });
});

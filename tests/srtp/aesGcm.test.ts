import { describe, expect, test } from "bun:test";
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { type AesGcmBackend, createAesGcmSealer, libcryptoAvailable } from "../../lib/srtp/aesGcm.ts";

const hex = (s: string) => Buffer.from(s, "hex");
const LENGTHS = [0, 1, 15, 16, 17, 1172, 1400];

/** The reference: a fresh node:crypto cipher, as SrtpEncryptor did before aesGcm.ts. */
function reference(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Buffer {
  const cipher = createCipheriv("aes-128-gcm", key, iv);
  cipher.setAAD(aad);
  const ciphertext = cipher.update(plaintext);
  cipher.final();
  return Buffer.concat([ciphertext, cipher.getAuthTag()]);
}

function seal(backend: AesGcmBackend, key: Uint8Array, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Buffer {
  const out = Buffer.alloc(plaintext.length + 16);
  createAesGcmSealer(key, { backend }).seal(iv, aad, plaintext, out);
  return out;
}

test("the system OpenSSL is in use on this machine (libcrypto.so.3 loads)", () => {
  expect(libcryptoAvailable()).toBe(true);
  expect(createAesGcmSealer(randomBytes(16)).backend).toBe("libcrypto");
  expect(createAesGcmSealer(randomBytes(16), { backend: "node:crypto" }).backend).toBe("node:crypto");
});

describe.each(["libcrypto", "node:crypto"] as const)("AES-128-GCM sealer, %s backend", (backend) => {
  // GCM specification (McGrew & Viega, as submitted to NIST), AES-128 Test Cases 1, 2 and 4.
  test.each([
    [
      "Test Case 1",
      "00000000000000000000000000000000",
      "000000000000000000000000",
      "",
      "",
      "",
      "58e2fccefa7e3061367f1d57a4e7455a",
    ],
    [
      "Test Case 2",
      "00000000000000000000000000000000",
      "000000000000000000000000",
      "",
      "00000000000000000000000000000000",
      "0388dace60b6a392f328c2b971b2fe78",
      "ab6e47d42cec13bdf53a67b21257bddf",
    ],
    [
      "Test Case 4",
      "feffe9928665731c6d6a8f9467308308",
      "cafebabefacedbaddecaf888",
      "feedfacedeadbeeffeedfacedeadbeefabaddad2",
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
      "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
      "5bc94fbc3221a5db94fae95ae7121a47",
    ],
  ])("known answer: %s", (_name, key, iv, aad, plaintext, ciphertext, tag) => {
    expect(seal(backend, hex(key), hex(iv), hex(aad), hex(plaintext)).toString("hex")).toBe(ciphertext + tag);
  });

  test("byte-identical to node:crypto for random keys, IVs, AAD and lengths", () => {
    for (let round = 0; round < 5; round++) {
      const key = randomBytes(16);
      for (const length of LENGTHS) {
        const iv = randomBytes(12);
        const aad = randomBytes([0, 12, 20][length % 3]!);
        const plaintext = randomBytes(length);
        expect(seal(backend, key, iv, aad, plaintext).equals(reference(key, iv, aad, plaintext))).toBe(true);
      }
    }
  });

  test("one sealer, many packets: each IV restarts GCM (no state leaks between seals)", () => {
    const key = randomBytes(16);
    const sealer = createAesGcmSealer(key, { backend });
    for (const length of [...LENGTHS, ...LENGTHS.toReversed()]) {
      const iv = randomBytes(12);
      const aad = randomBytes(12);
      const plaintext = randomBytes(length);
      const out = Buffer.alloc(length + 16);
      sealer.seal(iv, aad, plaintext, out);
      expect(out.equals(reference(key, iv, aad, plaintext))).toBe(true);
    }
  });

  test("node:crypto decrypts it and accepts the tag; a changed AAD byte is refused", () => {
    const key = randomBytes(16);
    const iv = randomBytes(12);
    const aad = randomBytes(12);
    const plaintext = randomBytes(1172);
    const sealed = seal(backend, key, iv, aad, plaintext);
    const open = (withAad: Uint8Array) => {
      const decipher = createDecipheriv("aes-128-gcm", key, iv);
      decipher.setAAD(withAad);
      decipher.setAuthTag(sealed.subarray(plaintext.length));
      return Buffer.concat([decipher.update(sealed.subarray(0, plaintext.length)), decipher.final()]);
    };
    expect(open(aad).equals(plaintext)).toBe(true);
    const tampered = Buffer.from(aad);
    tampered[0]! ^= 1;
    expect(() => open(tampered)).toThrow();
  });

  test("writes into a view of a larger buffer and nothing around it", () => {
    const key = randomBytes(16);
    const iv = randomBytes(12);
    const aad = randomBytes(12);
    const plaintext = randomBytes(100);
    const datagram = Buffer.alloc(12 + 100 + 16 + 8, 0xee);
    createAesGcmSealer(key, { backend }).seal(iv, aad, plaintext, datagram.subarray(12, 12 + 116));
    expect(datagram.subarray(12, 128).equals(reference(key, iv, aad, plaintext))).toBe(true);
    expect([...datagram.subarray(0, 12), ...datagram.subarray(128)].every((b) => b === 0xee)).toBe(true);
  });

  test("an output too short from its offset, a bad offset, a wrong IV or key is refused", () => {
    const sealer = createAesGcmSealer(randomBytes(16), { backend });
    const plaintext = randomBytes(20);
    expect(() => sealer.seal(randomBytes(12), randomBytes(12), plaintext, Buffer.alloc(35))).toThrow(
      /needs 36 bytes at 0/,
    );
    expect(() => sealer.seal(randomBytes(12), randomBytes(12), plaintext, Buffer.alloc(40), 5)).toThrow(
      /needs 36 bytes at 5/,
    );
    expect(() => sealer.seal(randomBytes(12), randomBytes(12), plaintext, Buffer.alloc(40), -1)).toThrow(/at -1/);
    expect(() => sealer.seal(randomBytes(16), randomBytes(12), plaintext, Buffer.alloc(36))).toThrow(
      /IV must be 12 bytes/,
    );
    expect(() => createAesGcmSealer(randomBytes(32), { backend })).toThrow(/16 bytes/);
  });

  test("sealed at an offset: the same bytes there, nothing written around them", () => {
    const key = randomBytes(16);
    const sealer = createAesGcmSealer(key, { backend });
    const [iv, aad, plaintext] = [randomBytes(12), randomBytes(12), randomBytes(1172)];
    const alone = Buffer.alloc(1188);
    sealer.seal(iv, aad, plaintext, alone);
    const wide = Buffer.alloc(1188 + 40, 0xee);
    sealer.seal(iv, aad, plaintext, wide, 17);
    expect(wide.subarray(17, 17 + 1188).equals(alone)).toBe(true);
    expect(wide.subarray(0, 17).every((b) => b === 0xee)).toBe(true);
    expect(wide.subarray(17 + 1188).every((b) => b === 0xee)).toBe(true);
  });

  test("the key is fixed at construction: changing the caller's key bytes later changes nothing", () => {
    const key = randomBytes(16);
    const original = Buffer.from(key);
    const sealer = createAesGcmSealer(key, { backend });
    key.fill(0);
    const iv = randomBytes(12);
    const out = Buffer.alloc(16 + 16);
    const plaintext = randomBytes(16);
    sealer.seal(iv, Buffer.alloc(0), plaintext, out);
    expect(out.equals(reference(original, iv, Buffer.alloc(0), plaintext))).toBe(true);
  });
});

test("libcrypto: dispose() frees the context; sealing afterwards throws, a second dispose() is harmless", () => {
  const sealer = createAesGcmSealer(randomBytes(16), { backend: "libcrypto" });
  sealer.dispose();
  sealer.dispose();
  expect(() => sealer.seal(randomBytes(12), randomBytes(12), randomBytes(4), Buffer.alloc(20))).toThrow(
    /after dispose/,
  );
});

test("libcrypto: sealers left to the garbage collector are freed without harm to live ones", () => {
  const key = randomBytes(16);
  const live = createAesGcmSealer(key, { backend: "libcrypto" });
  for (let i = 0; i < 2000; i++) createAesGcmSealer(randomBytes(16), { backend: "libcrypto" });
  Bun.gc(true);
  const iv = randomBytes(12);
  const plaintext = randomBytes(64);
  const out = Buffer.alloc(80);
  live.seal(iv, randomBytes(0), plaintext, out);
  expect(out.equals(reference(key, iv, Buffer.alloc(0), plaintext))).toBe(true);
});

import { describe, expect, test } from "bun:test";
import { crc32 as zlibCrc32 } from "node:zlib";
import { classes, Message, methods, parseMessage } from "werift";
import {
  buildBindingRequest,
  buildBindingSuccess,
  isStun,
  parseStun,
  STUN_BINDING_ERROR,
  STUN_BINDING_REQUEST,
  STUN_BINDING_SUCCESS,
  verifyStunIntegrity,
} from "../../lib/webrtc/stunMessage.ts";
import { seededRandom } from "../../bench/lib/random.ts";

const hex = (words: string[]) => new Uint8Array(Buffer.from(words.join(""), "hex"));
const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

// RFC 5769 2: all three vectors share these credentials and this transaction ID.
const RFC5769_PASSWORD = "VOkJxbRl1RmTxUk/WvJxBt";
const RFC5769_TRANSACTION_ID = "b7e7a701bc34d686fa87dfae";

// RFC 5769 2.1 Sample Request (username "evtj:h6vY", software "STUN test client").
const SAMPLE_REQUEST = hex([
  "00010058", // Request type and message length
  "2112a442", // Magic cookie
  "b7e7a701",
  "bc34d686",
  "fa87dfae", // Transaction ID
  "80220010", // SOFTWARE attribute header
  "5354554e",
  "20746573",
  "7420636c",
  "69656e74", // "STUN test client"
  "00240004", // PRIORITY attribute header
  "6e0001ff", // ICE priority value
  "80290008", // ICE-CONTROLLED attribute header
  "932ff9b1",
  "51263b36", // Pseudo-random tie breaker
  "00060009", // USERNAME attribute header
  "6576746a",
  "3a683676",
  "59202020", // "evtj:h6vY" and 3 bytes of padding
  "00080014", // MESSAGE-INTEGRITY attribute header
  "9aeaa70c",
  "bfd8cb56",
  "781ef2b5",
  "b2d3f249",
  "c1b571a2", // HMAC-SHA1
  "80280004", // FINGERPRINT attribute header
  "e57a3bcf", // CRC32 fingerprint
]);

// RFC 5769 2.2 Sample IPv4 Response (software "test vector", mapped address 192.0.2.1:32853).
const SAMPLE_IPV4_RESPONSE = hex([
  "0101003c", // Response type and message length
  "2112a442", // Magic cookie
  "b7e7a701",
  "bc34d686",
  "fa87dfae", // Transaction ID
  "8022000b", // SOFTWARE attribute header
  "74657374",
  "20766563",
  "746f7220", // "test vector" and 1 byte of padding
  "00200008", // XOR-MAPPED-ADDRESS attribute header
  "0001a147", // Address family (IPv4) and xor'd mapped port number
  "e112a643", // Xor'd mapped IPv4 address
  "00080014", // MESSAGE-INTEGRITY attribute header
  "2b91f599",
  "fd9e90c3",
  "8c7489f9",
  "2af9ba53",
  "f06be7d7", // HMAC-SHA1
  "80280004", // FINGERPRINT attribute header
  "c07d4c96", // CRC32 fingerprint
]);

// RFC 5769 2.3 Sample IPv6 Response (mapped address 2001:db8:1234:5678:11:2233:4455:6677 port 32853).
const SAMPLE_IPV6_RESPONSE = hex([
  "01010048", // Response type and message length
  "2112a442", // Magic cookie
  "b7e7a701",
  "bc34d686",
  "fa87dfae", // Transaction ID
  "8022000b", // SOFTWARE attribute header
  "74657374",
  "20766563",
  "746f7220", // "test vector" and 1 byte of padding
  "00200014", // XOR-MAPPED-ADDRESS attribute header
  "0002a147", // Address family (IPv6) and xor'd mapped port number
  "0113a9fa",
  "a5d3f179",
  "bc25f4b5",
  "bed2b9d9", // Xor'd mapped IPv6 address
  "00080014", // MESSAGE-INTEGRITY attribute header
  "a382954e",
  "4be67bf1",
  "1784c97c",
  "8292c275",
  "bfe3ed41", // HMAC-SHA1
  "80280004", // FINGERPRINT attribute header
  "c8fb0b4c", // CRC32 fingerprint
]);

const TRANSACTION_ID = hex(["0102030405060708090a0b0c"]);
const LOCAL_PASSWORD = "localIcePasswordOf22ch"; // ice-pwd: 22+ ice-chars (RFC 8839 5.4)
const REMOTE_PASSWORD = "remote+Ice/Password0123";

/** Shared by the round-trip, bit-flip and werift tests: what we build, with which password, and what parsing must give back. */
const BUILT_CASES = [
  {
    name: "consent request, controlled",
    password: REMOTE_PASSWORD,
    build: () =>
      buildBindingRequest({
        transactionId: TRANSACTION_ID,
        username: "remoteUfrag:localUfrag",
        password: REMOTE_PASSWORD,
        priority: 0x7effffff,
        iceControlled: 0x0123456789abcdefn,
      }),
    expected: {
      type: STUN_BINDING_REQUEST,
      username: "remoteUfrag:localUfrag",
      priority: 0x7effffff,
      iceControlled: 0x0123456789abcdefn,
      useCandidate: false,
    },
  },
  {
    name: "request, controlling with USE-CANDIDATE (5-byte username: padded)",
    password: REMOTE_PASSWORD,
    build: () =>
      buildBindingRequest({
        transactionId: TRANSACTION_ID,
        username: "ab:cd",
        password: REMOTE_PASSWORD,
        priority: 1,
        iceControlling: 0xffffffffffffffffn,
        useCandidate: true,
      }),
    expected: {
      type: STUN_BINDING_REQUEST,
      username: "ab:cd",
      priority: 1,
      iceControlling: 0xffffffffffffffffn,
      useCandidate: true,
    },
  },
  {
    name: "success response",
    password: LOCAL_PASSWORD,
    build: () =>
      buildBindingSuccess({
        transactionId: TRANSACTION_ID,
        mappedAddress: ["203.0.113.77", 54321],
        password: LOCAL_PASSWORD,
      }),
    expected: {
      type: STUN_BINDING_SUCCESS,
      xorMappedAddress: ["203.0.113.77", 54321] as [string, number],
      useCandidate: false,
    },
  },
];

describe("RFC 5769 test vectors", () => {
  test("2.1 sample request: integrity, fingerprint and ICE attributes (SOFTWARE skipped)", () => {
    expect(isStun(SAMPLE_REQUEST)).toBe(true);
    expect(verifyStunIntegrity(SAMPLE_REQUEST, RFC5769_PASSWORD)).toBe(true);
    expect(verifyStunIntegrity(SAMPLE_REQUEST, "VOkJxbRl1RmTxUk/WvJxBT")).toBe(false);
    const message = parseStun(SAMPLE_REQUEST)!;
    expect({ ...message, transactionId: toHex(message.transactionId) }).toEqual({
      type: STUN_BINDING_REQUEST,
      transactionId: RFC5769_TRANSACTION_ID,
      username: "evtj:h6vY",
      priority: 0x6e0001ff,
      iceControlled: 0x932ff9b151263b36n,
      useCandidate: false,
    });
  });

  test("2.2 sample IPv4 response: XOR-MAPPED-ADDRESS 192.0.2.1:32853", () => {
    expect(verifyStunIntegrity(SAMPLE_IPV4_RESPONSE, RFC5769_PASSWORD)).toBe(true);
    const message = parseStun(SAMPLE_IPV4_RESPONSE)!;
    expect(message.type).toBe(STUN_BINDING_SUCCESS);
    expect(toHex(message.transactionId)).toBe(RFC5769_TRANSACTION_ID);
    expect(message.xorMappedAddress).toEqual(["192.0.2.1", 32853]);
  });

  test("2.3 sample IPv6 response: parsed as a string, integrity checked", () => {
    expect(verifyStunIntegrity(SAMPLE_IPV6_RESPONSE, RFC5769_PASSWORD)).toBe(true);
    expect(parseStun(SAMPLE_IPV6_RESPONSE)!.xorMappedAddress).toEqual(["2001:db8:1234:5678:11:2233:4455:6677", 32853]);
  });

  test("the transaction ID is a copy, not a view of the datagram", () => {
    const datagram = SAMPLE_REQUEST.slice();
    const message = parseStun(datagram)!;
    datagram.fill(0);
    expect(toHex(message.transactionId)).toBe(RFC5769_TRANSACTION_ID);
    expect(message.transactionId.buffer).not.toBe(datagram.buffer);
  });

  test('Bun.hash.crc32 is zlib\'s CRC-32 (check value of "123456789"), which FINGERPRINT relies on', () => {
    expect(Bun.hash.crc32("123456789")).toBe(0xcbf43926);
    for (const vector of [SAMPLE_REQUEST, SAMPLE_IPV4_RESPONSE, SAMPLE_IPV6_RESPONSE]) {
      expect(Bun.hash.crc32(vector)).toBe(zlibCrc32(vector));
    }
  });
});

describe.each(BUILT_CASES)("round trip: $name", ({ build, password, expected }) => {
  test("parses back to what was built, and verifies", () => {
    const datagram = build();
    expect(isStun(datagram)).toBe(true);
    const message = parseStun(datagram)!;
    expect({ ...message, transactionId: toHex(message.transactionId) }).toEqual({
      ...expected,
      transactionId: toHex(TRANSACTION_ID),
    });
    expect(verifyStunIntegrity(datagram, password)).toBe(true);
  });

  test("a wrong password does not verify", () => {
    expect(verifyStunIntegrity(build(), password + "x")).toBe(false);
    expect(verifyStunIntegrity(build(), "")).toBe(false);
  });

  test("flipping any one bit makes verify false (and parse never throws)", () => {
    const datagram = build();
    const verifiedAfterFlip: number[] = [];
    for (let bit = 0; bit < datagram.length * 8; bit++) {
      const flipped = datagram.slice();
      flipped[bit >> 3]! ^= 0x80 >> (bit & 7);
      expect(() => parseStun(flipped)).not.toThrow();
      if (verifyStunIntegrity(flipped, password)) verifiedAfterFlip.push(bit);
    }
    expect(verifiedAfterFlip).toEqual([]);
  });
});

describe("interop with werift 0.25.2's STUN Message / parseMessage", () => {
  test.each(BUILT_CASES)(
    "werift parses ours and its integrity check accepts it: $name",
    ({ build, password, expected }) => {
      const parsed = parseMessage(Buffer.from(build()), Buffer.from(password, "utf8"));
      expect(parsed).toBeDefined();
      expect(parsed!.messageMethod | parsed!.messageClass).toBe(expected.type);
      expect(toHex(parsed!.transactionId)).toBe(toHex(TRANSACTION_ID));
      expect(parsed!.getAttributeValue("USERNAME")).toBe(expected.username);
      expect(parsed!.getAttributeValue("PRIORITY")).toBe(expected.priority);
      expect(parsed!.getAttributeValue("ICE-CONTROLLED")).toBe(expected.iceControlled);
      expect(parsed!.getAttributeValue("ICE-CONTROLLING")).toBe(expected.iceControlling);
      expect(parsed!.attributesKeys.includes("USE-CANDIDATE")).toBe(expected.useCandidate);
      expect(parsed!.getAttributeValue("XOR-MAPPED-ADDRESS")).toEqual(expected.xorMappedAddress);
      expect(parseMessage(Buffer.from(build()), Buffer.from(password + "x", "utf8"))).toBeUndefined();
    },
  );

  test("a werift-built binding request (as its ICE agent builds one) is parsed and verified by ours, byte for byte the same as ours", () => {
    const wireftRequest = new Message(methods.BINDING, classes.REQUEST, Buffer.from(TRANSACTION_ID))
      .setAttribute("USERNAME", "ab:cd")
      .setAttribute("PRIORITY", 1)
      .setAttribute("ICE-CONTROLLING", 0xffffffffffffffffn)
      .setAttribute("USE-CANDIDATE", null)
      .addMessageIntegrity(Buffer.from(REMOTE_PASSWORD, "utf8"))
      .addFingerprint().bytes;
    expect(verifyStunIntegrity(wireftRequest, REMOTE_PASSWORD)).toBe(true);
    expect(verifyStunIntegrity(wireftRequest, LOCAL_PASSWORD)).toBe(false);
    expect(parseStun(wireftRequest)).toMatchObject({
      username: "ab:cd",
      priority: 1,
      iceControlling: 0xffffffffffffffffn,
      useCandidate: true,
    });
    expect(toHex(wireftRequest)).toBe(toHex(BUILT_CASES[1]!.build()));
  });

  test("a werift-built success response is byte for byte the same as ours", () => {
    const weriftResponse = new Message(methods.BINDING, classes.RESPONSE, Buffer.from(TRANSACTION_ID))
      .setAttribute("XOR-MAPPED-ADDRESS", ["203.0.113.77", 54321])
      .addMessageIntegrity(Buffer.from(LOCAL_PASSWORD, "utf8"))
      .addFingerprint().bytes;
    expect(toHex(weriftResponse)).toBe(toHex(BUILT_CASES[2]!.build()));
  });
});

describe("attributes not in the RFC 5769 vectors", () => {
  test("ERROR-CODE as class * 100 + number, from a werift-built 487 Role Conflict (RFC 8445 7.3.1.1)", () => {
    const errorResponse = new Message(methods.BINDING, classes.ERROR, Buffer.from(TRANSACTION_ID))
      .setAttribute("ERROR-CODE", [487, "Role Conflict"])
      .addMessageIntegrity(Buffer.from(LOCAL_PASSWORD, "utf8"))
      .addFingerprint().bytes;
    expect(parseStun(errorResponse)).toMatchObject({ type: STUN_BINDING_ERROR, errorCode: 487 });
    expect(verifyStunIntegrity(errorResponse, LOCAL_PASSWORD)).toBe(true);
  });

  test("a repeated attribute: the first one counts (RFC 5389 15)", () => {
    const twoPriorities = hex([
      "00010010",
      "2112a442",
      toHex(TRANSACTION_ID),
      "00240004",
      "00000001",
      "00240004",
      "00000002",
    ]);
    expect(parseStun(twoPriorities)!.priority).toBe(1);
  });

  test("an attribute after MESSAGE-INTEGRITY: ignored by parse (RFC 5389 15.4), refused by verify (stricter)", () => {
    const built = BUILT_CASES[0]!.build();
    const beforeFingerprint = built.subarray(0, built.length - 8);
    const useCandidateAfterIntegrity = new Uint8Array([...beforeFingerprint, 0x00, 0x25, 0x00, 0x00]);
    new DataView(useCandidateAfterIntegrity.buffer).setUint16(2, useCandidateAfterIntegrity.length - 20);
    expect(parseStun(useCandidateAfterIntegrity)!.useCandidate).toBe(false);
    expect(verifyStunIntegrity(beforeFingerprint.slice(), REMOTE_PASSWORD)).toBe(false); // length field still counts FINGERPRINT
    expect(verifyStunIntegrity(useCandidateAfterIntegrity, REMOTE_PASSWORD)).toBe(false);
  });

  test("without MESSAGE-INTEGRITY: parsed, but never verified", () => {
    const bare = hex(["00010008", "2112a442", toHex(TRANSACTION_ID), "00240004", "00000001"]);
    expect(parseStun(bare)!.priority).toBe(1);
    expect(verifyStunIntegrity(bare, "")).toBe(false);
  });
});

/** Edits a copy of the RFC 5769 2.1 request. */
function editedRequest(edit: (bytes: Uint8Array, view: DataView) => void): Uint8Array {
  const bytes = SAMPLE_REQUEST.slice();
  edit(bytes, new DataView(bytes.buffer));
  return bytes;
}

function oneByteLonger(): Uint8Array {
  const bytes = new Uint8Array([...SAMPLE_REQUEST, 0]);
  new DataView(bytes.buffer).setUint16(2, bytes.length - 20);
  return bytes;
}

const MALFORMED_CASES: [string, Uint8Array][] = [
  ["empty", new Uint8Array(0)],
  ["19 bytes", SAMPLE_REQUEST.slice(0, 19)],
  ["header only, length field says 0x58", SAMPLE_REQUEST.slice(0, 20)],
  ["wrong magic cookie", editedRequest((_, view) => view.setUint32(4, 0x2112a443))],
  ["first byte above 3 (RFC 7983: not STUN)", editedRequest((bytes) => (bytes[0] = 0x40))],
  ["length field too big", editedRequest((_, view) => view.setUint16(2, 0x5c))],
  ["length field not a multiple of 4", editedRequest((_, view) => view.setUint16(2, 0x57))],
  ["extra byte after the message", new Uint8Array([...SAMPLE_REQUEST, 0])],
  ["extra byte counted by the length field (not a multiple of 4)", oneByteLonger()],
  ["SOFTWARE length overrunning the message", editedRequest((_, view) => view.setUint16(22, 0x0100))],
  [
    "FINGERPRINT length overrunning into missing padding",
    editedRequest((_, view) => view.setUint16(SAMPLE_REQUEST.length - 6, 5)),
  ],
  ["PRIORITY of 3 bytes", editedRequest((_, view) => view.setUint16(42, 3))],
];

describe("malformed input: parse undefined, verify false, never throws", () => {
  test.each(MALFORMED_CASES)("%s", (_, datagram) => {
    expect(() => isStun(datagram)).not.toThrow();
    expect(parseStun(datagram)).toBeUndefined();
    expect(verifyStunIntegrity(datagram, RFC5769_PASSWORD)).toBe(false);
  });

  test("every truncation of the RFC 5769 vectors", () => {
    for (const vector of [SAMPLE_REQUEST, SAMPLE_IPV4_RESPONSE, SAMPLE_IPV6_RESPONSE]) {
      for (let length = 0; length < vector.length; length++) {
        const truncated = vector.subarray(0, length);
        expect(isStun(truncated)).toBe(false);
        expect(parseStun(truncated)).toBeUndefined();
        expect(verifyStunIntegrity(truncated, RFC5769_PASSWORD)).toBe(false);
      }
    }
  });

  test("random bodies behind a valid header never throw", () => {
    const random = seededRandom(5389);
    for (let round = 0; round < 2000; round++) {
      const datagram = SAMPLE_REQUEST.slice(0, 20 + 4 * Math.floor(random() * 24));
      new DataView(datagram.buffer).setUint16(2, datagram.length - 20);
      for (let i = 20; i < datagram.length; i++) {
        datagram[i] = random() < 0.5 ? Math.floor(random() * 256) : Math.floor(random() * 4) * 4;
      }
      expect(() => parseStun(datagram)).not.toThrow();
      expect(verifyStunIntegrity(datagram, RFC5769_PASSWORD)).toBe(false);
    }
  });
});

describe("builder misuse throws with a message", () => {
  const success = (mappedAddress: [string, number], transactionId = TRANSACTION_ID) => () =>
    buildBindingSuccess({ transactionId, mappedAddress, password: "p" });
  const request =
    (options: { priority: number; iceControlled?: bigint; iceControlling?: bigint; username?: string }) => () =>
      buildBindingRequest({ transactionId: TRANSACTION_ID, username: "a:b", password: "p", ...options });

  test.each([
    ["an 11-byte transaction ID", success(["192.0.2.1", 1], new Uint8Array(11))],
    ["an IPv6 mapped address", success(["2001:db8::1", 1])],
    ["octet 256", success(["192.0.2.256", 1])],
    ["port 65536", success(["192.0.2.1", 65536])],
    ["no ICE role", request({ priority: 1 })],
    ["both ICE roles", request({ priority: 1, iceControlled: 1n, iceControlling: 2n })],
    ["a negative priority", request({ priority: -1, iceControlled: 1n })],
    ["a 513-byte USERNAME", request({ priority: 1, iceControlled: 1n, username: "u".repeat(513) })],
  ])("%s", (_, build) => {
    expect(build).toThrow();
  });
});

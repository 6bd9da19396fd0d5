import { timingSafeEqual } from "node:crypto";
import { crc32 } from "node:zlib";
import { createHmacSha1 } from "../runtime/hmacSha1.ts";

/**
 * STUN Binding messages (RFC 5389) as ICE uses them, so a session can keep
 * itself alive after werift's handshake: answer the browser's connectivity and
 * consent checks (RFC 8445 7.3) and send our own consent checks (RFC 7675 5.1).
 *
 *   header(20) = type(2) | length(2) | magic cookie(4) | transaction ID(12)   RFC 5389 6
 *   attribute  = type(2) | length(2) | value, padded to 4 bytes               RFC 5389 15
 *
 * Short-term credentials only (RFC 5389 10.1): MESSAGE-INTEGRITY is keyed with
 * the ICE password itself (SASLprep is the identity on ice-chars, RFC 8839 5.4).
 * Built messages always end MESSAGE-INTEGRITY, FINGERPRINT (RFC 8445 7.1, 7.3).
 */

export const STUN_BINDING_REQUEST = 0x0001; // RFC 5389 6: method Binding 0x001, class request (C1C0 = 00)
export const STUN_BINDING_SUCCESS = 0x0101; // class success response (C1C0 = 10)
export const STUN_BINDING_ERROR = 0x0111; // class error response (C1C0 = 11)

/** A STUN message's header and the attributes ICE needs; others (SOFTWARE, ...) are skipped. */
export interface StunMessage {
  /** Message type (method + class), e.g. STUN_BINDING_REQUEST. */
  type: number;
  /** 12 bytes (a copy, not a view of the input). */
  transactionId: Uint8Array;
  /** USERNAME 0x0006: "remote ufrag:local ufrag" of the sender (RFC 8445 7.2.2). */
  username?: string;
  /** PRIORITY 0x0024 (RFC 8445 7.1.1). */
  priority?: number;
  /** USE-CANDIDATE 0x0025 (RFC 8445 7.1.2). */
  useCandidate: boolean;
  /** ICE-CONTROLLING 0x802A: the sender's tie-breaker (RFC 8445 7.1.3). */
  iceControlling?: bigint;
  /** ICE-CONTROLLED 0x8029: the sender's tie-breaker (RFC 8445 7.1.3). */
  iceControlled?: bigint;
  /** XOR-MAPPED-ADDRESS 0x0020 as [host, port]; an IPv6 host in full (uncompressed) colon-hex form. */
  xorMappedAddress?: [string, number];
  /** ERROR-CODE 0x0009 as class * 100 + number, e.g. 487 Role Conflict. */
  errorCode?: number;
}

const HEADER_SIZE = 20; // RFC 5389 6: type(2) + length(2) + magic cookie(4) + transaction ID(12)
const TRANSACTION_ID_OFFSET = 8; // after type, length and cookie
const TRANSACTION_ID_SIZE = 12; // RFC 5389 6: 96 bits
const MAGIC_COOKIE = 0x2112a442; // RFC 5389 6
const MAX_STUN_FIRST_BYTE = 3; // RFC 7983 7: a datagram whose first byte is 0..3 is STUN
const ATTRIBUTE_HEADER_SIZE = 4; // RFC 5389 15: type(2) + length(2)
const HMAC_SHA1_SIZE = 20; // RFC 5389 15.4
const INTEGRITY_ATTRIBUTE_SIZE = ATTRIBUTE_HEADER_SIZE + HMAC_SHA1_SIZE;
const FINGERPRINT_ATTRIBUTE_SIZE = ATTRIBUTE_HEADER_SIZE + 4; // RFC 5389 15.5: a 32-bit CRC
const FINGERPRINT_XOR = 0x5354554e; // RFC 5389 15.5: the CRC-32 is XORed with "STUN"
const FAMILY_IPV4 = 0x01; // RFC 5389 15.1
const FAMILY_IPV6 = 0x02;
const XOR_ADDRESS_IPV4_SIZE = 8; // RFC 5389 15.2: reserved(1) + family(1) + port(2) + address(4)
const XOR_ADDRESS_IPV6_SIZE = 20; // ... + address(16)
const MAX_USERNAME_SIZE = 512; // RFC 5389 15.3: MUST be less than 513 bytes

/** Attribute types (RFC 5389 18.2, RFC 8445 16.1). */
const ATTRIBUTE = {
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  XOR_MAPPED_ADDRESS: 0x0020,
  PRIORITY: 0x0024,
  USE_CANDIDATE: 0x0025,
  FINGERPRINT: 0x8028,
  ICE_CONTROLLED: 0x8029,
  ICE_CONTROLLING: 0x802a,
} as const;

/** One attribute as found in a datagram: `start` is where its header begins. */
interface FoundAttribute {
  type: number;
  start: number;
  value: Uint8Array;
}

/** One attribute to write: type and unpadded value. */
interface AttributeToWrite {
  type: number;
  value: Uint8Array;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** RFC 7983 first byte 0..3, magic cookie, length a multiple of 4 that matches the datagram. */
export function isStun(data: Uint8Array): boolean {
  if (data.length < HEADER_SIZE || data[0]! > MAX_STUN_FIRST_BYTE) return false;
  const view = viewOf(data);
  const bodyLength = view.getUint16(2);
  // RFC 5389 6: the body is whole 4-byte attributes, and UDP delivers whole messages.
  return view.getUint32(4) === MAGIC_COOKIE && bodyLength % 4 === 0 && bodyLength === data.length - HEADER_SIZE;
}

/** undefined for anything malformed (truncated, attribute overrunning, bad cookie); never throws. */
export function parseStun(data: Uint8Array): StunMessage | undefined {
  const attributes = findAttributes(data);
  if (!attributes) return undefined;
  const message: StunMessage = {
    type: viewOf(data).getUint16(0),
    transactionId: data.slice(TRANSACTION_ID_OFFSET, HEADER_SIZE),
    useCandidate: false,
  };
  const seen = new Set<number>();
  const xorKey = data.subarray(4, HEADER_SIZE); // RFC 5389 15.2: magic cookie + transaction ID
  for (const attribute of attributes) {
    // RFC 5389 15.4: what follows MESSAGE-INTEGRITY is unauthenticated and ignored (FINGERPRINT is checked by verify).
    if (attribute.type === ATTRIBUTE.MESSAGE_INTEGRITY) break;
    // RFC 5389 15: of repeated attributes only the first needs processing.
    if (seen.has(attribute.type)) continue;
    seen.add(attribute.type);
    if (!readAttributeInto(message, attribute, xorKey)) return undefined;
  }
  return message;
}

/**
 * True when MESSAGE-INTEGRITY (RFC 5389 15.4, HMAC-SHA1 keyed with the ICE password, short-term
 * credentials) is present and right, and FINGERPRINT (15.5) if present is right too.
 * Stricter than 15.4, which says to ignore attributes after MESSAGE-INTEGRITY: only a final
 * FINGERPRINT may follow it here (no ICE agent sends more), so every byte is authenticated.
 */
export function verifyStunIntegrity(data: Uint8Array, password: string): boolean {
  const attributes = findAttributes(data);
  const integrityIndex = attributes?.findIndex((attribute) => attribute.type === ATTRIBUTE.MESSAGE_INTEGRITY) ?? -1;
  if (!attributes || integrityIndex < 0) return false;
  const integrity = attributes[integrityIndex]!;
  const after = attributes.slice(integrityIndex + 1);
  if (after.length > 1 || (after[0] && after[0].type !== ATTRIBUTE.FINGERPRINT)) return false;
  if (after[0] && !fingerprintMatches(data, after[0])) return false;
  if (integrity.value.length !== HMAC_SHA1_SIZE) return false;
  return timingSafeEqual(integrity.value, messageIntegrity(data, integrity.start, password));
}

/**
 * Binding success response: XOR-MAPPED-ADDRESS of `mappedAddress`, MESSAGE-INTEGRITY keyed with
 * `password` (our local ICE pwd), FINGERPRINT.
 */
export function buildBindingSuccess(options: {
  transactionId: Uint8Array;
  mappedAddress: [string, number];
  password: string;
}): Uint8Array {
  // RFC 8445 7.3.1.2: the success response carries the request's source address as XOR-MAPPED-ADDRESS.
  const attributes = [{ type: ATTRIBUTE.XOR_MAPPED_ADDRESS, value: encodeXorIpv4Address(options.mappedAddress) }];
  return buildMessage(STUN_BINDING_SUCCESS, options.transactionId, attributes, options.password);
}

/**
 * Binding request as an ICE agent's consent check (RFC 7675 5.1): USERNAME, PRIORITY,
 * ICE-CONTROLLED or ICE-CONTROLLING with the tie-breaker, optional USE-CANDIDATE,
 * MESSAGE-INTEGRITY keyed with `password` (the remote ICE pwd), FINGERPRINT.
 * Throws on our own mistakes: both roles or neither, a priority outside 32 bits, a USERNAME over 512 bytes.
 */
export function buildBindingRequest(options: {
  transactionId: Uint8Array;
  username: string;
  password: string;
  priority: number;
  iceControlled?: bigint;
  iceControlling?: bigint;
  useCandidate?: boolean;
}): Uint8Array {
  const { iceControlled, iceControlling, priority } = options;
  // RFC 8445 7.1.3: exactly one of the two, naming our role.
  if ((iceControlled === undefined) === (iceControlling === undefined)) {
    throw new TypeError("STUN Binding request needs exactly one of iceControlled / iceControlling (RFC 8445 7.1.3)");
  }
  if (!Number.isInteger(priority) || priority < 0 || priority > 0xffffffff) {
    throw new RangeError(`ICE priority ${priority} is not a 32-bit unsigned integer`);
  }
  const username = utf8Encoder.encode(options.username);
  if (username.length > MAX_USERNAME_SIZE) {
    throw new RangeError(`STUN USERNAME of ${username.length} bytes is over ${MAX_USERNAME_SIZE} (RFC 5389 15.3)`);
  }
  // Same order as werift's ICE agent: USERNAME, PRIORITY, role, USE-CANDIDATE.
  const attributes: AttributeToWrite[] = [
    { type: ATTRIBUTE.USERNAME, value: username },
    { type: ATTRIBUTE.PRIORITY, value: uint32Bytes(priority) },
    iceControlling === undefined
      ? { type: ATTRIBUTE.ICE_CONTROLLED, value: uint64Bytes(iceControlled!) }
      : { type: ATTRIBUTE.ICE_CONTROLLING, value: uint64Bytes(iceControlling) },
  ];
  if (options.useCandidate) attributes.push({ type: ATTRIBUTE.USE_CANDIDATE, value: new Uint8Array(0) });
  return buildMessage(STUN_BINDING_REQUEST, options.transactionId, attributes, options.password);
}

/** RFC 5389 15: the attributes in order, or undefined when the header is not STUN or an attribute (with its padding) overruns. */
function findAttributes(data: Uint8Array): FoundAttribute[] | undefined {
  if (!isStun(data)) return undefined;
  const view = viewOf(data);
  const attributes: FoundAttribute[] = [];
  // isStun made the body a multiple of 4, so an attribute header always fits where one starts.
  for (let start = HEADER_SIZE; start < data.length;) {
    const valueStart = start + ATTRIBUTE_HEADER_SIZE;
    const valueLength = view.getUint16(start + 2);
    const end = valueStart + padded(valueLength);
    if (end > data.length) return undefined;
    attributes.push({ type: view.getUint16(start), start, value: data.subarray(valueStart, valueStart + valueLength) });
    start = end;
  }
  return attributes;
}

/** Copies one attribute ICE cares about into `message`; false when its value has the wrong size or content. */
function readAttributeInto(message: StunMessage, { type, value }: FoundAttribute, xorKey: Uint8Array): boolean {
  const view = viewOf(value);
  switch (type) {
    case ATTRIBUTE.USERNAME:
      message.username = utf8Decoder.decode(value);
      return true;
    case ATTRIBUTE.PRIORITY:
      if (value.length !== 4) return false;
      message.priority = view.getUint32(0);
      return true;
    case ATTRIBUTE.USE_CANDIDATE:
      message.useCandidate = true;
      return value.length === 0;
    case ATTRIBUTE.ICE_CONTROLLING:
      if (value.length !== 8) return false;
      message.iceControlling = view.getBigUint64(0);
      return true;
    case ATTRIBUTE.ICE_CONTROLLED:
      if (value.length !== 8) return false;
      message.iceControlled = view.getBigUint64(0);
      return true;
    case ATTRIBUTE.XOR_MAPPED_ADDRESS:
      message.xorMappedAddress = decodeXorAddress(value, xorKey);
      return message.xorMappedAddress !== undefined;
    case ATTRIBUTE.ERROR_CODE:
      message.errorCode = decodeErrorCode(value);
      return message.errorCode !== undefined;
    default:
      return true; // SOFTWARE, FINGERPRINT before the end, unknown: not needed here
  }
}

/** RFC 5389 15.2: port XOR the cookie's top 16 bits; address XOR cookie (IPv4) or cookie + transaction ID (IPv6). */
function decodeXorAddress(value: Uint8Array, xorKey: Uint8Array): [string, number] | undefined {
  const family = value[1];
  const expectedSize = family === FAMILY_IPV4
    ? XOR_ADDRESS_IPV4_SIZE
    : family === FAMILY_IPV6
    ? XOR_ADDRESS_IPV6_SIZE
    : -1;
  if (value.length !== expectedSize) return undefined;
  const port = viewOf(value).getUint16(2) ^ (MAGIC_COOKIE >>> 16);
  const address = value.slice(4).map((byte, i) => byte ^ xorKey[i]!);
  return [family === FAMILY_IPV4 ? address.join(".") : ipv6Text(address), port];
}

/** RFC 4291 2.2 form 1: eight hex groups, leading zeros dropped, no "::" compression. */
function ipv6Text(address: Uint8Array): string {
  const view = viewOf(address);
  return Array.from({ length: 8 }, (_, group) => view.getUint16(group * 2).toString(16)).join(":");
}

/** RFC 5389 15.6: reserved(21 bits) | class(3 bits, 3..6) | number(8 bits, 0..99) | reason phrase. */
function decodeErrorCode(value: Uint8Array): number | undefined {
  if (value.length < 4) return undefined;
  const errorClass = value[2]! & 0x07;
  const errorNumber = value[3]!;
  if (errorClass < 3 || errorClass > 6 || errorNumber > 99) return undefined;
  return errorClass * 100 + errorNumber;
}

/** RFC 5389 15.2 for an IPv4 [host, port]; throws on anything else (the socket is IPv4). */
function encodeXorIpv4Address([host, port]: [string, number]): Uint8Array {
  const octets = host.split(".").map((part) => (/^\d{1,3}$/.test(part) ? Number(part) : NaN));
  if (octets.length !== 4 || !octets.every((octet) => octet <= 255)) {
    throw new RangeError(`XOR-MAPPED-ADDRESS host "${host}" is not a dotted IPv4 address`);
  }
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
    throw new RangeError(`XOR-MAPPED-ADDRESS port ${port} is not 0..65535`);
  }
  const value = new Uint8Array(XOR_ADDRESS_IPV4_SIZE);
  const view = viewOf(value);
  value[1] = FAMILY_IPV4;
  view.setUint16(2, port ^ (MAGIC_COOKIE >>> 16));
  view.setUint32(4, (ipv4Number(octets) ^ MAGIC_COOKIE) >>> 0);
  return value;
}

/** Header, `attributes`, MESSAGE-INTEGRITY, FINGERPRINT (RFC 5389 15.4, 15.5: in that order, last). */
function buildMessage(
  type: number,
  transactionId: Uint8Array,
  attributes: AttributeToWrite[],
  password: string,
): Uint8Array {
  if (transactionId.length !== TRANSACTION_ID_SIZE) {
    throw new RangeError(`STUN transaction ID is ${transactionId.length} bytes, not ${TRANSACTION_ID_SIZE}`);
  }
  const attributesSize = attributes.reduce((size, { value }) => size + ATTRIBUTE_HEADER_SIZE + padded(value.length), 0);
  const message = new Uint8Array(HEADER_SIZE + attributesSize + INTEGRITY_ATTRIBUTE_SIZE + FINGERPRINT_ATTRIBUTE_SIZE);
  const view = viewOf(message);
  view.setUint16(0, type);
  view.setUint16(2, message.length - HEADER_SIZE);
  view.setUint32(4, MAGIC_COOKIE);
  message.set(transactionId, TRANSACTION_ID_OFFSET);
  let offset = HEADER_SIZE;
  for (const attribute of attributes) offset = writeAttribute(message, offset, attribute);
  const integrity = messageIntegrity(message, offset, password);
  offset = writeAttribute(message, offset, { type: ATTRIBUTE.MESSAGE_INTEGRITY, value: integrity });
  writeAttribute(message, offset, {
    type: ATTRIBUTE.FINGERPRINT,
    value: uint32Bytes(fingerprint(message.subarray(0, offset))),
  });
  return message;
}

/** Writes one attribute at `offset` (padding left zero, RFC 5389 15); returns where the next one starts. */
function writeAttribute(message: Uint8Array, offset: number, { type, value }: AttributeToWrite): number {
  const view = viewOf(message);
  view.setUint16(offset, type);
  view.setUint16(offset + 2, value.length);
  message.set(value, offset + ATTRIBUTE_HEADER_SIZE);
  return offset + ATTRIBUTE_HEADER_SIZE + padded(value.length);
}

/**
 * RFC 5389 15.4: HMAC-SHA1 over the message before MESSAGE-INTEGRITY (at `integrityStart`), with the
 * header's length field counting up to and including MESSAGE-INTEGRITY (not a FINGERPRINT after it).
 */
function messageIntegrity(message: Uint8Array, integrityStart: number, password: string): Uint8Array {
  const lengthAsIfLast = integrityStart - HEADER_SIZE + INTEGRITY_ATTRIBUTE_SIZE;
  const hmac = createHmacSha1(password);
  hmac.update(message.subarray(0, 2));
  hmac.update(Uint8Array.of(lengthAsIfLast >> 8, lengthAsIfLast & 0xff));
  hmac.update(message.subarray(4, integrityStart));
  return hmac.digest();
}

/** True when a final FINGERPRINT holds the CRC of everything before it (its header's length field already counts it). */
function fingerprintMatches(data: Uint8Array, attribute: FoundAttribute): boolean {
  return attribute.value.length === 4 &&
    viewOf(attribute.value).getUint32(0) === fingerprint(data.subarray(0, attribute.start));
}

/** RFC 5389 15.5: CRC-32 (ISO-HDLC, as zlib computes it; node:zlib's on Bun and Deno alike) XOR 0x5354554e. */
function fingerprint(messageBeforeFingerprint: Uint8Array): number {
  return (crc32(messageBeforeFingerprint) ^ FINGERPRINT_XOR) >>> 0;
}

function ipv4Number(octets: number[]): number {
  return octets.reduce((number, octet) => number * 256 + octet, 0);
}

function uint32Bytes(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  viewOf(bytes).setUint32(0, value);
  return bytes;
}

function uint64Bytes(value: bigint): Uint8Array {
  const bytes = new Uint8Array(8);
  viewOf(bytes).setBigUint64(0, value);
  return bytes;
}

/** Rounded up to a whole number of 4-byte words (RFC 5389 15). */
function padded(length: number): number {
  return (length + 3) & ~3;
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

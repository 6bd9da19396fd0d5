import type { RTCPeerConnection } from "werift";

/**
 * Our ICE username fragment and password for a connection (RFC 8445 5.3).
 *
 * Why not werift's: it draws 4 hex digits for the ufrag (16 bits) and 22 for
 * the password (88 bits), below the RFC's "at least 24 bits of randomness" and
 * "at least 128 bits". On the UDP mux the ufrag also routes a new viewer's
 * first STUN check to its connection, and 16 bits collide: with 100 viewers
 * connected, one in about 13 bursts of joins gave two of them the same ufrag
 * (birthday bound 100^2 / 2 / 65536), and the second never connected
 * ("ICE checking" until the connect timeout; seen in bench/viewerMemory.ts).
 */

/** ice-char is ALPHA / DIGIT / "+" / "/" (RFC 8839 5.4); letters and digits only keep it safe in URLs and logs. */
const ICE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/** 8 of 62 characters: 47.6 bits. */
export const ICE_UFRAG_LENGTH = 8;
/** 24 of 62 characters: 142.9 bits. */
export const ICE_PASSWORD_LENGTH = 24;

/** `length` ice-chars, uniformly random (rejection sampling: no modulo bias). */
export function randomIceString(length: number): string {
  let out = "";
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (byte < 248 && out.length < length) out += ICE_CHARS[byte % 62]; // 248 = 4 * 62
    }
  }
  return out;
}

/**
 * werift 0.25.2's ICE agent fields, read when the answer is made, on every STUN check, and by the UDP
 * mux, which binds a route only for a first check whose MESSAGE-INTEGRITY the password verifies.
 */
export interface IceAgent {
  localUsername: string;
  localPassword: string;
}

/** The ICE agents (werift `Connection`s) behind a peer connection's transceivers, each once: bundled ones share one. */
export function iceAgentsOf(pc: RTCPeerConnection): Set<IceAgent> {
  const agents = new Set<IceAgent>();
  for (const transceiver of pc.getTransceivers()) {
    const agent = (transceiver.dtlsTransport?.iceTransport as unknown as { connection?: IceAgent } | undefined)
      ?.connection;
    if (agent) agents.add(agent);
  }
  return agents;
}

/**
 * Gives each ICE agent of `pc` fresh credentials, a ufrag not `taken` (the
 * mux's live connections). Call before createAnswer: werift reads them when it
 * writes the answer and signs every STUN response with them, and the UDP mux
 * verifies a new peer's first check with them (werift 0.25.2 verifies no request).
 */
export function setIceCredentials(pc: RTCPeerConnection, taken: (ufrag: string) => boolean): void {
  for (const agent of iceAgentsOf(pc)) {
    let ufrag = randomIceString(ICE_UFRAG_LENGTH);
    while (taken(ufrag)) ufrag = randomIceString(ICE_UFRAG_LENGTH);
    agent.localUsername = ufrag;
    agent.localPassword = randomIceString(ICE_PASSWORD_LENGTH);
  }
}

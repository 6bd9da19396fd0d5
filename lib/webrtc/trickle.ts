import type { RTCPeerConnection } from "werift";
import { BadRequestError, UnprocessableError } from "../errors.ts";
import { isMdnsCandidate } from "./offer.ts";

/**
 * Applies a trickle-ICE SDP fragment (RFC 8840 9, as WHEP/WHIP PATCH bodies
 * carry, RFC 9725 4.3.1): every a=candidate line is added to the peer connection.
 * A fragment with new ice-ufrag/ice-pwd asks for an ICE restart, which Wisp
 * does not support.
 */
export async function addTrickleCandidates(pc: RTCPeerConnection, fragment: string): Promise<number> {
  const remoteUfrag = /a=ice-ufrag:(\S+)/.exec(pc.remoteDescription?.sdp ?? "")?.[1];
  const lines = checkTrickleFragment(fragment, remoteUfrag);
  let mid: string | undefined;
  let added = 0;
  for (const line of lines) {
    if (line.startsWith("a=mid:")) mid = line.slice("a=mid:".length);
    if (!line.startsWith("a=candidate:") || isMdnsCandidate(line)) continue; // see withoutMdnsCandidates
    await pc.addIceCandidate({ candidate: line.slice(2), sdpMid: mid ?? "0", sdpMLineIndex: mid ? undefined : 0 });
    added++;
  }
  return added;
}

/**
 * The fragment's lines, once it is known to be an SDP fragment that does
 * not ask for an ICE restart (a new ice-ufrag, RFC 8840 4.4); throws the
 * HTTP error otherwise. Also used once ICE is done and candidates change nothing.
 */
export function checkTrickleFragment(fragment: string, remoteUfrag: string | undefined): string[] {
  const lines = fragment.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (lines.some((l) => !/^[a-z]=/.test(l))) {
    throw new BadRequestError("the body is not an SDP fragment: every line must look like x=...");
  }
  const ufrag = lines.find((l) => l.startsWith("a=ice-ufrag:"))?.slice("a=ice-ufrag:".length);
  if (ufrag && remoteUfrag && ufrag !== remoteUfrag) {
    throw new UnprocessableError("ICE restart (a new ice-ufrag) is not supported: start a new session instead");
  }
  return lines;
}

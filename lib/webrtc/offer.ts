import { BadRequestError, UnprocessableError, WispError } from "../errors.ts";

/** One m-section of an SDP offer, as far as Wisp cares (RFC 8866 5.14). */
export interface OfferedMedia {
  kind: string;
  port: number;
  direction: "sendrecv" | "sendonly" | "recvonly" | "inactive";
  /** Lower-case codec names from a=rtpmap, e.g. "h264", "opus", "vp8". */
  codecs: string[];
  /** True when an H.264 payload type allows packetization-mode=1 (RFC 6184 8.1). */
  h264Mode1: boolean;
}

/**
 * Parses just enough of an offer to validate it; throws BadRequestError if it
 * is not SDP, has more than `maxMedia` media sections (the routes pass
 * MAX_OFFER_MEDIA: each section costs werift a transceiver, and 500 of them
 * stalled every viewer for 0.4-2 s), or lacks what ICE and DTLS need.
 */
export function parseOffer(sdp: string, maxMedia = Infinity): OfferedMedia[] {
  if (!/^v=0\r?\n/.test(sdp)) throw new BadRequestError("the body is not an SDP offer: it must start with v=0");
  const sections = sdp.split(/\r?\nm=/);
  const media = sections.slice(1);
  if (media.length === 0) throw new BadRequestError("the SDP offer has no media sections (m= lines)");
  if (media.length > maxMedia) {
    throw new BadRequestError(
      `the SDP offer has ${media.length} media sections; at most ${maxMedia} are accepted (MAX_OFFER_MEDIA)`,
    );
  }
  checkTransportAttributes(sections[0]!, media);
  return media.map(parseSection);
}

/** RFC 8839 5.4 (ice-ufrag, ice-pwd) and RFC 8122 5 (fingerprint): at session level or in every used m-section. */
function checkTransportAttributes(sessionPart: string, media: string[]): void {
  for (const attribute of ["ice-ufrag", "ice-pwd", "fingerprint"]) {
    const pattern = new RegExp(`^a=${attribute}:\\S`, "m");
    if (pattern.test(sessionPart)) continue;
    const missing = media.filter((section) => !/^\S+ 0 /.test(section) && !pattern.test(section));
    if (missing.length > 0) {
      throw new BadRequestError(`the SDP offer lacks a=${attribute} (at session level or in each media section)`);
    }
  }
}

/**
 * What a failed negotiation tells the client: Wisp's own errors as they are,
 * anything werift threw on an offer it could not take as 400 with its reason
 * (a malformed offer is the client's error, never the server's).
 */
export function asOfferError(error: unknown): Error {
  if (error instanceof WispError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new BadRequestError(`the offer could not be used: ${reason}`, { cause: error });
}

function parseSection(section: string): OfferedMedia {
  const lines = section.split(/\r?\n/);
  const [kind = "", port = "0"] = (lines[0] ?? "").split(" ");
  const codecsByPt = new Map<string, string>();
  const fmtps = new Map<string, string>();
  let direction: OfferedMedia["direction"] = "sendrecv";
  for (const line of lines) {
    const rtpmap = /^a=rtpmap:(\d+) ([^/]+)/.exec(line);
    if (rtpmap) codecsByPt.set(rtpmap[1]!, rtpmap[2]!.toLowerCase());
    const fmtp = /^a=fmtp:(\d+) (.*)$/.exec(line);
    if (fmtp) fmtps.set(fmtp[1]!, fmtp[2]!);
    const dir = /^a=(sendrecv|sendonly|recvonly|inactive)$/.exec(line);
    if (dir) direction = dir[1] as OfferedMedia["direction"];
  }
  const h264Mode1 = [...codecsByPt].some(
    ([pt, codec]) => codec === "h264" && /packetization-mode=1/.test(fmtps.get(pt) ?? ""),
  );
  return { kind, port: Number(port), direction, codecs: [...new Set(codecsByPt.values())], h264Mode1 };
}

export interface PlayableTracks {
  video: boolean;
  audio: boolean;
}

/**
 * What a viewer will receive: the stream's playable tracks that the offer can
 * take. Throws UnprocessableError with the reason when nothing fits.
 */
export function matchOffer(media: OfferedMedia[], stream: PlayableTracks, streamName: string): PlayableTracks {
  const receives = (m: OfferedMedia) => m.port !== 0 && (m.direction === "recvonly" || m.direction === "sendrecv");
  const video = media.find((m) => m.kind === "video" && receives(m));
  const audio = media.find((m) => m.kind === "audio" && receives(m));
  const result = {
    video: stream.video && !!video && video.h264Mode1,
    audio: stream.audio && !!audio && audio.codecs.includes("opus"),
  };
  if (result.video || result.audio) return result;
  throw new UnprocessableError(explainMismatch(media, stream, streamName, video, audio));
}

function explainMismatch(
  media: OfferedMedia[],
  stream: PlayableTracks,
  name: string,
  video: OfferedMedia | undefined,
  audio: OfferedMedia | undefined,
): string {
  const has = [stream.video && "H.264 video", stream.audio && "Opus audio"].filter(Boolean).join(" and ");
  if (!stream.video && !stream.audio) return `stream "${name}" has no track playable over WebRTC (H.264 or Opus)`;
  if (stream.video && video && !video.h264Mode1) {
    return `the offer's video lacks H.264 with packetization-mode=1 (offered: ${
      video.codecs.join(", ")
    }); stream "${name}" has ${has}`;
  }
  if (stream.audio && audio && !audio.codecs.includes("opus")) {
    return `the offer's audio lacks Opus (offered: ${audio.codecs.join(", ")}); stream "${name}" has ${has}`;
  }
  const offered = media.map((m) => `${m.kind} ${m.direction}`).join(", ");
  return `the offer receives nothing stream "${name}" has (${has}); offered: ${offered}`;
}

/**
 * Drops ICE candidates whose address is an mDNS name (`<uuid>.local`, which
 * browsers use to hide local IPs). A server cannot resolve a remote browser's
 * mDNS name, and werift would try: a multicast query (a socket and LAN traffic
 * per connection) and a wait of up to 10 s. ICE still connects: the browser's
 * checks reveal its address as a peer-reflexive candidate (RFC 8445 7.3.1.3).
 */
export function withoutMdnsCandidates(sdp: string): string {
  return sdp
    .split(/\r?\n/)
    .filter((line) => !isMdnsCandidate(line))
    .join("\r\n");
}

export function isMdnsCandidate(line: string): boolean {
  return /^a=candidate:\S+ \d+ \S+ \d+ \S+\.local /i.test(line.trim());
}

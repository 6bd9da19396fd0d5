import { describe, expect, test } from "bun:test";
import { isMdnsCandidate, matchOffer, parseOffer, withoutMdnsCandidates } from "../../lib/webrtc/offer.ts";
import { BadRequestError, UnprocessableError } from "../../lib/errors.ts";
import { chromeLikeOffer } from "./chromeOffer.ts";

const BOTH = { video: true, audio: true };

describe("parseOffer", () => {
  test("reads kinds, directions, codecs and H.264 packetization mode", () => {
    const media = parseOffer(chromeLikeOffer());
    expect(media).toEqual([
      { kind: "video", port: 9, direction: "recvonly", codecs: ["vp8", "h264"], h264Mode1: true },
      { kind: "audio", port: 9, direction: "recvonly", codecs: ["opus"], h264Mode1: false },
    ]);
  });

  test.each([["hello"], [""], ["v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"]])("rejects %p as not an offer", (body) => {
    expect(() => parseOffer(body)).toThrow(BadRequestError);
  });
});

describe("matchOffer", () => {
  test("both tracks when offer and stream have both", () => {
    expect(matchOffer(parseOffer(chromeLikeOffer()), BOTH, "cam")).toEqual(BOTH);
  });

  test("only what the stream has: video-only and audio-only streams", () => {
    const media = parseOffer(chromeLikeOffer());
    expect(matchOffer(media, { video: true, audio: false }, "cam")).toEqual({ video: true, audio: false });
    expect(matchOffer(media, { video: false, audio: true }, "cam")).toEqual({ video: false, audio: true });
  });

  test("a VP8-only offer for a video-only stream is refused with the reason", () => {
    const media = parseOffer(chromeLikeOffer({ video: ["96 VP8/90000"], audio: [] }));
    expect(() => matchOffer(media, { video: true, audio: false }, "cam")).toThrow(UnprocessableError);
    expect(() => matchOffer(media, { video: true, audio: false }, "cam")).toThrow(/H\.264 with packetization-mode=1/);
  });

  test("H.264 offered only in packetization-mode 0 is not enough (FU-A needs mode 1)", () => {
    const media = parseOffer(chromeLikeOffer({ video: ["103 H264/90000 packetization-mode=0"], audio: [] }));
    expect(() => matchOffer(media, { video: true, audio: false }, "cam")).toThrow(UnprocessableError);
  });

  test("a sendonly offer receives nothing", () => {
    const media = parseOffer(chromeLikeOffer({ direction: "sendonly" }));
    expect(() => matchOffer(media, BOTH, "cam")).toThrow(/receives nothing/);
  });

  test("an audio-only offer for a video-only stream is refused", () => {
    const media = parseOffer(chromeLikeOffer({ video: [] }));
    expect(() => matchOffer(media, { video: true, audio: false }, "cam")).toThrow(UnprocessableError);
  });
});

describe("mDNS candidates", () => {
  const offer = [
    "v=0",
    "m=video 9 UDP/TLS/RTP/SAVPF 102",
    "a=candidate:1 1 udp 2122260223 9b2f3c1e-1111-4a4a-9c9c-123456789abc.local 50000 typ host generation 0",
    "a=candidate:2 1 udp 2122260223 192.168.1.20 50001 typ host generation 0",
    "a=candidate:3 1 udp 1686052607 203.0.113.9 50002 typ srflx raddr 0.0.0.0 rport 0",
    "",
  ].join("\r\n");

  test("are dropped from offers; real addresses stay", () => {
    const cleaned = withoutMdnsCandidates(offer);
    expect(cleaned).not.toContain(".local");
    expect(cleaned).toContain("192.168.1.20 50001");
    expect(cleaned).toContain("203.0.113.9 50002");
  });

  test("are recognised in trickled lines", () => {
    expect(isMdnsCandidate("a=candidate:1 1 udp 2122260223 abc-def.local 50000 typ host")).toBe(true);
    expect(isMdnsCandidate("a=candidate:2 1 udp 2122260223 10.0.0.1 50001 typ host")).toBe(false);
  });
});

import { describe, expect, test } from "bun:test";
import { matchOffer, parseOffer } from "../../lib/webrtc/offer.ts";
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

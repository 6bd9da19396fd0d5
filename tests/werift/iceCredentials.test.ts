import { expect, test } from "bun:test";
import {
  ICE_PASSWORD_LENGTH,
  ICE_UFRAG_LENGTH,
  randomIceString,
  setIceCredentials,
} from "../../lib/werift/iceCredentials.ts";
import { PeerFactory } from "../../lib/werift/peerFactory.ts";
import { chromeLikeOffer } from "../webrtc/chromeOffer.ts";

test("ice-chars only, every one of the 62 drawn, none favoured by a modulo", () => {
  const sample = randomIceString(62_000);
  expect(sample).toMatch(/^[A-Za-z0-9]+$/);
  const counts = new Map<string, number>();
  for (const c of sample) counts.set(c, (counts.get(c) ?? 0) + 1);
  expect(counts.size).toBe(62);
  // 1000 expected each; with a modulo bias (256 % 62 = 8) the first 8 would get ~1.2x.
  for (const count of counts.values()) expect(Math.abs(count - 1000)).toBeLessThan(160);
});

/** The answer werift writes for a Chromium-like offer, prepared by the factory. */
async function answerOf(factory: PeerFactory, taken?: (ufrag: string) => boolean) {
  const pc = factory.create();
  try {
    await pc.setRemoteDescription({ type: "offer", sdp: chromeLikeOffer() });
    for (const t of pc.getTransceivers()) t.setDirection("sendonly");
    if (taken) setIceCredentials(pc, taken);
    else factory.prepareAnswer(pc);
    const sdp = (await pc.createAnswer()).sdp;
    return { ufrag: /a=ice-ufrag:(\S+)/.exec(sdp)![1]!, pwd: /a=ice-pwd:(\S+)/.exec(sdp)![1]! };
  } finally {
    await pc.close();
  }
}

test("answers carry RFC 8445 5.3 credentials: an 8-char ufrag (not werift's 4 hex digits) and a 24-char password", async () => {
  const factory = new PeerFactory();
  const answers = await Promise.all([answerOf(factory), answerOf(factory)]);
  for (const { ufrag, pwd } of answers) {
    expect(ufrag).toMatch(new RegExp(`^[A-Za-z0-9]{${ICE_UFRAG_LENGTH}}$`));
    expect(pwd).toMatch(new RegExp(`^[A-Za-z0-9]{${ICE_PASSWORD_LENGTH}}$`));
  }
  expect(answers[0]!.ufrag).not.toBe(answers[1]!.ufrag);
});

test("a ufrag a live connection on the mux holds is never handed out again", async () => {
  const tried: string[] = [];
  const { ufrag } = await answerOf(new PeerFactory(), (candidate) => {
    tried.push(candidate);
    return tried.length < 3; // the first two are "taken"
  });
  expect(tried).toHaveLength(3);
  expect(ufrag).toBe(tried[2]!);
});

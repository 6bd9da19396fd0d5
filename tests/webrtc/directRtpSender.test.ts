import { expect, test } from "bun:test";
import { RTCPeerConnection } from "werift";
import { ntpNow } from "../../lib/webrtc/directRtpSender.ts";

// The direct send path reads these werift RTCRtpSender internals: fail loudly if an upgrade moves them.
test("werift's RTCRtpSender still has the internals DirectRtpSender uses", async () => {
  const pc = new RTCPeerConnection({ iceServers: [] });
  try {
    const sender = pc.addTransceiver("video", { direction: "sendonly" }).sender as unknown as Record<string, unknown>;
    expect(Array.isArray(sender.rtpCache)).toBe(true);
    expect(typeof sender.runRtcp).toBe("function");
    for (const field of ["ssrc", "packetCount", "octetCount", "rtpTimestamp", "ntpTimestamp", "stopped"]) {
      expect(field in sender).toBe(true);
    }
    const dtls = sender.dtlsTransport as Record<string, unknown>;
    expect("srtp" in dtls && "iceTransport" in dtls).toBe(true);
    const connection = (dtls.iceTransport as Record<string, unknown>).connection as Record<string, unknown>;
    expect("nominated" in connection).toBe(true);
  } finally {
    await pc.close();
  }
});

test("NTP timestamps: seconds since 1900 and an exact 32-bit fraction (werift's SR fraction is wrong)", () => {
  const ntp = ntpNow(Date.UTC(2026, 0, 1, 0, 0, 0, 500));
  expect(ntp >> 32n).toBe(BigInt(Date.UTC(2026, 0, 1) / 1000 + 2_208_988_800));
  expect(ntp & 0xffffffffn).toBe(2n ** 31n); // half a second
});

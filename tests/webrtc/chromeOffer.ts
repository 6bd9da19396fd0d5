/**
 * SDP offers shaped like Chromium's for a recvonly WHEP client (trimmed to the
 * lines Wisp reads), for unit tests that do not need a browser.
 */
// Any well-formed fingerprint: no DTLS handshake happens in the tests that use these offers.
const FINGERPRINT = Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, "0").toUpperCase()).join(":");

export function chromeLikeOffer(options: { video?: string[]; audio?: string[]; direction?: string } = {}): string {
  const direction = options.direction ?? "recvonly";
  const video = options.video ??
    ["96 VP8/90000", "102 H264/90000 packetization-mode=1", "103 H264/90000 packetization-mode=0"];
  const audio = options.audio ?? ["111 opus/48000/2"];
  const section = (kind: string, mid: number, codecs: string[]) => {
    const pts = codecs.map((c) => c.split(" ")[0]).join(" ");
    const lines = [
      `m=${kind} 9 UDP/TLS/RTP/SAVPF ${pts}`,
      "c=IN IP4 0.0.0.0",
      "a=ice-ufrag:Wisp",
      "a=ice-pwd:wisptestpasswordwisptest",
      "a=fingerprint:sha-256 " + FINGERPRINT,
      "a=setup:actpass",
      `a=mid:${mid}`,
      `a=${direction}`,
      "a=rtcp-mux",
    ];
    for (const codec of codecs) {
      const [pt, name, fmtp] = codec.split(" ");
      lines.push(`a=rtpmap:${pt} ${name}`);
      if (fmtp) lines.push(`a=fmtp:${pt} level-asymmetry-allowed=1;${fmtp};profile-level-id=42e01f`);
    }
    return lines;
  };
  const media = [
    ...(options.video?.length === 0 ? [] : section("video", 0, video)),
    ...(options.audio?.length === 0 ? [] : section("audio", 1, audio)),
  ];
  const mids = [options.video?.length === 0 ? "" : "0", options.audio?.length === 0 ? "" : "1"].filter(Boolean);
  const session = ["v=0", "o=- 1 2 IN IP4 127.0.0.1", "s=-", "t=0 0", `a=group:BUNDLE ${mids.join(" ")}`];
  return [...session, ...media, ""].join("\r\n");
}

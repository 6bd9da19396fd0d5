import { afterEach, describe, expect, test } from "bun:test";
import { buildBindingRequest } from "../../lib/webrtc/stunMessage.ts";
import { eventually } from "../helpers/eventually.ts";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";

let server: TestServer | undefined;
afterEach(async () => {
  await checkAndClose(server);
  server = undefined;
});

describe("GET /api/udp", () => {
  test("the mux's address, send method and counters: three equal datagrams to one peer leave as one GSO message", async () => {
    server = await startTestServer();
    const mux = server.webrtc.mux!;
    let received = 0;
    const peer = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0, socket: { data: () => void received++ } });
    try {
      for (let i = 0; i < 3; i++) {
        mux.queueWith(500, ["127.0.0.1", peer.port], (into, at) => into.fill(i, at, at + 500));
      }
      mux.flush();
      const info = await (await server.app.request("/api/udp")).json();
      expect(info).toMatchObject({
        address: "127.0.0.1",
        port: mux.port,
        sendMethod: "sendmmsg+gso",
        datagramsSent: 3,
        messagesSent: 1,
        sendFailures: 0,
        integrityRefused: 0,
      });
      expect(info.srtpSealing).toBe("frames in C + libcrypto"); // TinyCC and libcrypto.so.3 are on this machine and in the image
      await eventually(() => received >= 3, () => `3 datagrams (${received} arrived)`);
      expect(received).toBe(3);
    } finally {
      peer.close();
    }
  });

  test("counts first checks dropped for a MESSAGE-INTEGRITY our password does not verify", async () => {
    server = await startTestServer();
    const mux = server.webrtc.mux!;
    const transport = mux.createTransport(() => "ours", () => "our-ice-password-0123456");
    try {
      const transactionId = new Uint8Array(12);
      const forged = buildBindingRequest({
        transactionId,
        username: "ours:theirs",
        password: "guessed",
        priority: 1,
        iceControlling: 1n,
      });
      mux.receive(Buffer.from(forged), ["192.0.2.7", 50_000]);
      expect(await (await server.app.request("/api/udp")).json()).toMatchObject({
        integrityRefused: 1,
        routes: 0,
        routed: 0,
      });
    } finally {
      await transport.close();
    }
  });

  test("says when SRTP is sealed packet by packet: no hand-over, or a benchmark's packetSealing", async () => {
    for (const [env, webrtc] of [[{ WEBRTC_HANDOVER: "off" }, {}], [{}, { packetSealing: true }]] as const) {
      server = await startTestServer(env, { webrtc });
      expect((await (await server.app.request("/api/udp")).json()).srtpSealing).toBe("packets, libcrypto");
      await checkAndClose(server);
      server = undefined;
    }
  });

  test("a benchmark's sendMany (WebrtcSetupOptions, not configuration) shows as the send method", async () => {
    server = await startTestServer({}, { webrtc: { sendMany: true } });
    expect((await (await server.app.request("/api/udp")).json()).sendMethod).toBe("sendMany");
  });

  test("404 with a sentence when WEBRTC_UDP_ADDR=off", async () => {
    server = await startTestServer({ WEBRTC_UDP_ADDR: "off" });
    const response = await server.app.request("/api/udp");
    expect(response.status).toBe(404);
    expect(await response.text()).toContain("no UDP mux");
  });
});

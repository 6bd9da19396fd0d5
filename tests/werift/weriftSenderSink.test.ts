import { expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { RTCPeerConnection, SrtpSession } from "werift";
import { ViewerTrack } from "../../lib/pipeline/viewerTrack.ts";
import { ntpNow } from "../../lib/rtp/ntpTime.ts";
import type { Address } from "../../lib/udp/udpMux.ts";
import { WeriftSenderSink } from "../../lib/werift/weriftSenderSink.ts";

// Wisp's send path reads these werift RTCRtpSender internals: fail loudly if an upgrade moves them.
test("werift's RTCRtpSender still has the internals WeriftSenderSink uses", async () => {
  const pc = new RTCPeerConnection({ iceServers: [] });
  try {
    const sender = pc.addTransceiver("video", { direction: "sendonly" }).sender as unknown as Record<string, unknown>;
    expect(typeof sender.runRtcp).toBe("function");
    expect(typeof (sender.onGenericNack as { subscribe?: unknown }).subscribe).toBe("function");
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

/**
 * A stand-in for a connected werift sender (unit test only): real werift SRTP
 * keys, a selected pair whose transport records datagrams (the mux's
 * queueWith, or werift's own socket's send when `muxed` is false).
 */
function connectedSender(options: { muxed?: boolean } = {}) {
  const master = { key: randomBytes(16), salt: randomBytes(12) };
  const peer = { key: randomBytes(16), salt: randomBytes(12) };
  const ours = new SrtpSession(
    {
      keys: {
        localMasterKey: master.key,
        localMasterSalt: master.salt,
        remoteMasterKey: peer.key,
        remoteMasterSalt: peer.salt,
      },
      profile: 7,
    } as never,
  );
  const receiver = new SrtpSession(
    {
      keys: {
        localMasterKey: peer.key,
        localMasterSalt: peer.salt,
        remoteMasterKey: master.key,
        remoteMasterSalt: master.salt,
      },
      profile: 7,
    } as never,
  );
  const onTheWire: Buffer[] = [];
  const transport: { send: (data: Buffer, addr: Address) => void; queueWith?: unknown } = {
    send: (data) => void onTheWire.push(data),
  };
  if (options.muxed ?? true) {
    transport.queueWith = (length: number, _addr: Address, write: (into: Uint8Array, at: number) => void) => {
      const into = Buffer.alloc(length + 7); // written at an offset, as into a batch's slab
      write(into, 7);
      onTheWire.push(into.subarray(7));
    };
  }
  const nackListeners: Array<(feedback: { lost: number[] }) => void> = [];
  const sender = {
    ssrc: 1234,
    codec: { payloadType: 96, clockRate: 90000 },
    stopped: false,
    packetCount: 0,
    octetCount: 0,
    rtpTimestamp: 0,
    ntpTimestamp: 0n,
    sequenceNumber: undefined as number | undefined,
    timestamp: undefined as number | undefined,
    rtcpRuns: 0,
    runRtcp: async () => void sender.rtcpRuns++,
    onGenericNack: { subscribe: (listener: (feedback: { lost: number[] }) => void) => nackListeners.push(listener) },
    dtlsTransport: {
      state: "connected",
      srtp: ours,
      iceTransport: { connection: { nominated: { protocol: { transport }, remoteAddr: ["127.0.0.1", 9] } } },
    },
  };
  const nack = (lost: number[]) => nackListeners.forEach((listener) => listener({ lost }));
  return { sender, receiver, onTheWire, nack };
}

const VIDEO = { ssrc: 1234, clockRate: 90_000, frameStep: 3000, historySize: 100 };
const packets = (timestamp: number, sizes: number[]) =>
  sizes.map((size, i) => ({ payload: randomBytes(size), timestamp, marker: i === sizes.length - 1 }));

test.each([true, false])(
  "our SRTP on werift's keys and selected pair (on the mux: %p) decrypts at the receiver; werift's sender reports get the counters",
  (muxed) => {
    const { sender, receiver, onTheWire } = connectedSender({ muxed });
    const track = new ViewerTrack(new WeriftSenderSink(sender as never), { ...VIDEO, clock: () => 1_700_000_000_000 });
    const frame = packets(9000, [1000, 20, 500]);
    track.send(frame, 0, 1_700_000_000_000);
    expect(onTheWire).toHaveLength(3);
    onTheWire.forEach((datagram, i) =>
      expect(Buffer.from(receiver.decrypt(datagram).subarray(12)).equals(Buffer.from(frame[i]!.payload))).toBe(true)
    );
    expect(onTheWire[0]!.readUInt32BE(8)).toBe(1234);
    expect(sender).toMatchObject({
      packetCount: 3,
      octetCount: 1520,
      sequenceNumber: onTheWire[2]!.readUInt16BE(2),
      timestamp: onTheWire[2]!.readUInt32BE(4),
    });
    expect(sender.rtpTimestamp).toBe(onTheWire[2]!.readUInt32BE(4)); // sent at its media time: the report's timestamp is the frame's
    expect(sender.ntpTimestamp).toBe(ntpNow(1_700_000_000_000));
    track.send(packets(12_000, [10]), 0, 1_700_000_000_000);
    expect(sender.rtcpRuns).toBe(1); // werift's report loop started once
  },
);

test("a NACK werift reads is answered from the track's history with the same bytes", () => {
  const { sender, onTheWire, nack } = connectedSender();
  const sink = new WeriftSenderSink(sender as never);
  const track = new ViewerTrack(sink, VIDEO);
  sink.onNack((lost) => track.retransmit(lost));
  track.send(packets(9000, [1000, 20, 500]));
  nack([onTheWire[1]!.readUInt16BE(2), onTheWire[2]!.readUInt16BE(2), 4242]); // 4242 was never sent: ignored
  expect(track.retransmitted).toBe(2);
  expect(onTheWire[3]!.equals(onTheWire[1]!)).toBe(true);
  expect(onTheWire[4]!.equals(onTheWire[2]!)).toBe(true);
});

test("nothing is sent before DTLS is connected", () => {
  const { sender, onTheWire } = connectedSender();
  sender.dtlsTransport.state = "connecting";
  expect(new WeriftSenderSink(sender as never).send(1, 0, false, randomBytes(10))).toBe(false);
  expect(onTheWire).toHaveLength(0);
});

test("detach(): a sink on the link with werift's SSRC, payload type and keys; werift is read no more, NACKs from it ignored", () => {
  const { sender, receiver, onTheWire, nack } = connectedSender();
  const werift = new WeriftSenderSink(sender as never);
  const track = new ViewerTrack(werift, VIDEO);
  let nacks = 0;
  werift.onNack(() => nacks++);
  track.send(packets(9000, [50]), 0, 1);
  const onLink: Uint8Array[] = [];
  const link = {
    closed: false,
    queueWith: (length: number, write: (into: Uint8Array, at: number) => void) => {
      const into = new Uint8Array(length);
      write(into, 0);
      onLink.push(into);
    },
    queueRun: () => false,
  };
  const detached = werift.detach(link, { nativeFrames: false })!;
  expect(werift.detach(link, {})).toBeUndefined(); // once
  track.useSink(detached);
  sender.dtlsTransport.state = "closed"; // werift is gone: nothing of it is read any more
  const payload = randomBytes(300);
  track.send([{ payload, timestamp: 12_000, marker: true }], 0, 2);
  expect(onTheWire).toHaveLength(1); // only the packet before the hand-over took werift's route
  const decrypted = receiver.decrypt(Buffer.from(onLink[0]!));
  expect(decrypted.readUInt32BE(8)).toBe(1234); // werift's SSRC
  expect(decrypted[1]! & 0x7f).toBe(96); // its payload type
  expect(Buffer.from(decrypted.subarray(12)).equals(payload)).toBe(true);
  expect(sender.packetCount).toBe(1); // werift's counters stopped at the hand-over ...
  expect(track.senderReport()).toMatchObject({ ssrc: 1234, packetCount: 2, octetCount: 350 }); // ... the track's go on
  nack([1]);
  expect(nacks).toBe(0);
});

test("an SRTP profile Wisp does not implement is an error, not silence", () => {
  const { sender } = connectedSender();
  (sender.dtlsTransport.srtp as unknown as { localContext: { profile: number } }).localContext.profile = 0x0002;
  expect(() => new WeriftSenderSink(sender as never).send(1, 0, false, randomBytes(10))).toThrow(
    "unsupported SRTP protection profile 0x2",
  );
});

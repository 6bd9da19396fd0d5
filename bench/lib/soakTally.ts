// The soak's accounting (bench/soak.ts): how many packets the stream produced across the push sessions
// that replaced each other, and how many media datagrams the server sent its viewers meanwhile.

/** What /api/streams/{name} says, as far as the soak reads it. */
export interface StreamFigures {
  requestId: string;
  /** When the session started (ISO 8601): for a replacement, when the session it replaced ended. */
  startedAt: string;
  viewers: number;
  viewersHandedOver: number;
  packetsOut: number;
  retransmitted: number;
  viewerLinks: Partial<Record<"stunRequests" | "consentChecks" | "reportsSent" | "flightsRepeated", number>>;
}

/** The stream's current session's figures, or undefined when it is not live. */
export async function streamFigures(base: string, name: string): Promise<StreamFigures | undefined> {
  const response = await fetch(`${base}/api/streams/${encodeURIComponent(name)}`);
  return response.ok ? ((await response.json()) as StreamFigures) : undefined;
}

/** Every datagram the UDP mux has sent (media, RTCP, STUN, DTLS). */
export async function datagramsSent(base: string): Promise<number> {
  return ((await (await fetch(`${base}/api/udp`)).json()) as { datagramsSent: number }).datagramsSent;
}

/**
 * Datagrams sent to the viewers that are not media sent once: ICE answers and
 * consent checks, sender reports, repeated DTLS flights, retransmissions (the
 * viewers' links count each, one datagram apiece). Summed over the viewers
 * still there: a viewer that leaves takes its counts along.
 */
function controlDatagrams(f: StreamFigures): number {
  const links = f.viewerLinks;
  return f.retransmitted + (links.stunRequests ?? 0) + (links.consentChecks ?? 0) + (links.reportsSent ?? 0) +
    (links.flightsRepeated ?? 0);
}

/**
 * From the first reading on: packets the stream produced, summed over its
 * sessions (each counts from 0), and media datagrams the server sent (each
 * produced packet goes once to each viewer). /api/streams shows the current
 * session only, so what a replaced session produced between its last reading
 * and its end (the new session's start) is estimated from its average rate:
 * under load a reading can come several hundred ms before the swap.
 */
export class Tally {
  produced = 0;
  sent = 0;
  requestId: string | undefined;
  #packetsOut = 0;
  /** Wall-clock ms of the last reading, and the current session's average packets per ms. */
  #readAt = 0;
  #rate = 0;
  #sentAtStart: number | undefined;

  /** A reading of the stream and the mux, taken at wall-clock `readAt` (ms, when the answers came). */
  add(stream: StreamFigures, datagrams: number, readAt: number): void {
    if (stream.requestId === this.requestId) this.produced += stream.packetsOut - this.#packetsOut;
    else if (this.requestId !== undefined) {
      this.produced += this.#tail(Date.parse(stream.startedAt)) + stream.packetsOut;
    }
    this.requestId = stream.requestId;
    this.#packetsOut = stream.packetsOut;
    this.#rate = stream.packetsOut / Math.max(1, readAt - Date.parse(stream.startedAt));
    this.#readAt = readAt;
    const media = datagrams - controlDatagrams(stream);
    this.#sentAtStart ??= media;
    this.sent = media - this.#sentAtStart;
  }

  /** The replaced session's packets after its last reading, until `endedAt`. */
  #tail(endedAt: number): number {
    return Math.round(this.#rate * Math.max(0, endedAt - this.#readAt));
  }
}

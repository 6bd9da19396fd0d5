// WHEP server-sent events, the player's side (draft-ietf-wish-whep-02, "Server Sent Events extension"):
// find the extension's Link in the WHEP 201, POST the JSON array of event types wanted to it, and
// read the event stream at the Location it answers (text/event-stream, HTML Living Standard 9.2).
// Read with fetch rather than EventSource: here the end of the stream is news (the session or the
// stream is over), where an EventSource would quietly connect again.

const REL = "urn:ietf:params:whep:ext:core:server-sent-events";

/** The entry point of the server-sent events extension in a WHEP 201's Link header, or undefined. */
export function eventsEntryPoint(response) {
  const header = response.headers.get("Link");
  if (!header) return undefined;
  for (const link of header.split(/,\s*(?=<)/)) {
    const match = /^\s*<([^>]*)>(.*)$/.exec(link);
    const rel = match && /;\s*rel="?([^";]+)"?/.exec(match[2])?.[1];
    if (rel === REL) return new URL(match[1], response.url || location.href).href;
  }
  return undefined;
}

/**
 * Creates an event stream at `entryPoint` for `types` and calls `onEvent(type, data)` for each event
 * until the server ends the stream (then it resolves) or `signal` aborts (then it rejects).
 */
export async function readWhepEvents(entryPoint, types, { signal, onEvent }) {
  const created = await fetch(entryPoint, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(types),
    signal,
  });
  if (created.status !== 201) throw new Error(`${created.status}: ${(await created.text()).trim()}`);
  const stream = new URL(created.headers.get("Location"), entryPoint).href;
  const response = await fetch(stream, { headers: { Accept: "text/event-stream" }, cache: "no-store", signal });
  if (!response.ok || !response.body) throw new Error(`${response.status}: ${(await response.text()).trim()}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer = (buffer + value).replace(/\r\n?/g, "\n");
    for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
      const message = parseMessage(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (message) onEvent(message.type, message.data);
    }
  }
}

/** One message's `event:` and `data:` fields; comments (":") and `retry:` carry no event. */
function parseMessage(block) {
  let type = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") type = value;
    if (field === "data") data.push(value);
  }
  if (data.length === 0) return undefined;
  try {
    return { type, data: JSON.parse(data.join("\n")) };
  } catch {
    return { type, data: data.join("\n") };
  }
}

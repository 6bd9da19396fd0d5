/** The lines of a byte stream (without their "\n"), as they arrive: a child's stdout, or stdin. */
export async function* streamLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = "";
  const reader = stream.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    buffered += decoder.decode(r.value, { stream: true });
    for (let i = buffered.indexOf("\n"); i >= 0; i = buffered.indexOf("\n")) {
      yield buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
    }
  }
}

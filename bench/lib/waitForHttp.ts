/** Until `url` answers 200 (a server the benchmark started is listening); throws after 10 s. */
export async function waitForHttp(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    await Bun.sleep(100);
  }
  throw new Error(`${url} did not answer`);
}

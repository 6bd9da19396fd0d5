import { expect, test } from "bun:test";
import { filesOf, type Layer, layerFor, layerProblems, LAYERS, testFiles } from "../../scripts/test.ts";

test("every test file bun would find is in exactly one layer", () => {
  const layers = Object.keys(LAYERS) as Layer[];
  const found = testFiles();
  expect(found).toContain("tests/scripts/test.test.ts");
  const held = new Map(found.map((file) => [file, [] as Layer[]]));
  for (const layer of layers) for (const file of filesOf(layer)) held.get(file)?.push(layer);
  const wrong = [...held].filter(([, holders]) => holders.length !== 1).map(([file, holders]) =>
    `${file}: ${holders.join(", ") || "none"}`
  );
  expect(wrong).toEqual([]);
  expect(layerProblems()).toEqual([]);
});

// Sources as the rule sees them (a file's own and its test helpers'); written so that this file's
// own text does not match them.
const opens = (call: string) => `const s = await ${call}` + "(";
test.each(
  [
    ["tests/rtp/a.test.ts", `import { readFixture } from "../fixtures/readFixture.ts";`, "unit"],
    ["tests/webrtc/a.test.ts", `const pc = new RTCPeerConnection({ iceServers: [] });`, "unit"],
    ["tests/routes/a.test.ts", opens("startTestServer"), "loopback"],
    ["tests/runtime/a.test.ts", opens("serveHttp"), "loopback"],
    ["tests/a.test.ts", opens("Bun.spawnSync"), "loopback"],
    ["tests/udp/a.test.ts", opens("Bun.udpSocket"), "loopback"],
    ["tests/werift/a.test.ts", `import { createSocket } from "node` + `:dgram";`, "loopback"],
    ["tests/werift/a.test.ts", "// test layer" + ": loopback\n", "loopback"],
    ["tests/e2e/a.test.ts", "", "e2e"],
    ["tests/routes/a.test.ts", `import { chromium } from "playwright` + `-core";`, undefined],
    ["bench/a.test.ts", "", undefined],
  ] as const,
)("%s with %j is %s", (file, source, layer) => {
  expect(layerFor(file, source)).toBe(layer);
});

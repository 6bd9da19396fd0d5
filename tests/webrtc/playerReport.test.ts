import { describe, expect, test } from "bun:test";
import { BadRequestError } from "../../lib/errors.ts";
import { parsePlayerReport } from "../../lib/webrtc/playerReport.ts";

describe("parsePlayerReport: what a player says of its playback", () => {
  test("every field optional; numbers kept as sent", () => {
    expect(parsePlayerReport("{}")).toEqual({});
    const full = {
      timeToFirstFrameMs: 412.5,
      stalls: 2,
      stalledMs: 830,
      framesDecoded: 9000,
      framesDropped: 3,
      rttMs: 12.25,
    };
    expect(parsePlayerReport(JSON.stringify(full))).toEqual(full);
  });

  test.each([
    ["not json", /must be a JSON object/],
    ["[1, 2]", /must be a JSON object/],
    ["null", /must be a JSON object/],
    ['{"ttff": 3}', /no field "ttff"; its fields are timeToFirstFrameMs, stalls/],
    ['{"stalls": 1.5}', /stalls must be a whole number from 0 to 1000000000, got 1.5/],
    ['{"stalls": -1}', /stalls must be a whole number/],
    ['{"timeToFirstFrameMs": "420"}', /timeToFirstFrameMs must be a number from 0 to 3600000, got "420"/],
    ['{"rttMs": 1e300}', /rttMs must be a number from 0 to 3600000/],
    ['{"stalledMs": null}', /stalledMs must be a number/],
  ])("%s is refused with a sentence saying why", (text, message) => {
    expect(() => parsePlayerReport(text)).toThrow(BadRequestError);
    expect(() => parsePlayerReport(text)).toThrow(message);
  });
});

import { expect, test } from "bun:test";
import { msFromNtp, ntpNow } from "../../lib/rtp/ntpTime.ts";

test("NTP timestamps (RFC 5905 6): seconds since 1900 and an exact 32-bit fraction (werift's SR fraction is wrong)", () => {
  const ntp = ntpNow(Date.UTC(2026, 0, 1, 0, 0, 0, 500));
  expect(ntp >> 32n).toBe(BigInt(Date.UTC(2026, 0, 1) / 1000 + 2_208_988_800));
  expect(ntp & 0xffffffffn).toBe(2n ** 31n); // half a second
  expect(msFromNtp(ntp)).toBe(Date.UTC(2026, 0, 1, 0, 0, 0, 500));
});

import { describe, expect, it } from "vitest";
import { fmtDateTime, fmtTime, fromLocalInput, localDay, toLocalInput, toZonedIso, tzOffsetMinutes } from "./time";

const TZ = "Europe/Stockholm";

describe("time in the house's zone", () => {
  it("formats in the given zone, not the machine's", () => {
    const t = "2026-07-01T10:00:00Z";
    expect(fmtTime(t, TZ)).toBe("12:00");
    expect(fmtTime(t, "America/New_York")).toBe("06:00");
    expect(fmtTime(t, "UTC")).toBe("10:00");
    expect(fmtDateTime("2026-03-29T01:00:00Z", TZ)).toContain("03:00");
    expect(fmtTime(null, TZ)).toBe("–");
    expect(fmtTime("garbage", TZ)).toBe("–");
  });
  it("knows the offsets across DST", () => {
    expect(tzOffsetMinutes(Date.parse("2026-01-15T12:00:00Z"), TZ)).toBe(60);
    expect(tzOffsetMinutes(Date.parse("2026-07-15T12:00:00Z"), TZ)).toBe(120);
    expect(toZonedIso(Date.parse("2026-03-29T00:45:00Z"), TZ)).toBe("2026-03-29T01:45:00+01:00");
    expect(toZonedIso(Date.parse("2026-03-29T01:00:00Z"), TZ)).toBe("2026-03-29T03:00:00+02:00");
  });
  it("round-trips datetime-local values", () => {
    expect(fromLocalInput("2026-07-01T12:00", TZ)).toBe(Date.parse("2026-07-01T10:00:00Z"));
    expect(fromLocalInput("2026-01-01T00:30", TZ)).toBe(Date.parse("2025-12-31T23:30:00Z"));
    expect(fromLocalInput("2026-03-29T03:00", TZ)).toBe(Date.parse("2026-03-29T01:00:00Z"));
    // ambiguous autumn hour: the first (summer time) occurrence
    expect(fromLocalInput("2026-10-25T02:30", TZ)).toBe(Date.parse("2026-10-25T00:30:00Z"));
    // skipped spring hour moves forward
    expect(toLocalInput(fromLocalInput("2026-03-29T02:30", TZ) ?? 0, TZ)).toBe("2026-03-29T03:30");
    expect(fromLocalInput("nope", TZ)).toBeNull();
    expect(toLocalInput("2026-07-01T10:00:00Z", TZ)).toBe("2026-07-01T12:00");
  });
  it("gives the local calendar day", () => {
    expect(localDay("2026-07-01T22:30:00Z", TZ)).toBe("2026-07-02");
  });
});

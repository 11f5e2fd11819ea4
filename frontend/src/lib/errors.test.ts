import { describe, expect, it } from "vitest";
import { ApiError, errorFromReply, mapFieldErrors, messageOf } from "./errors";
import { tokenFromHash } from "./token";

describe("errorFromReply", () => {
  it("uses detail and errors of the API's error shape", () => {
    const e = errorFromReply(422, "Unprocessable", {
      detail: "invalid config",
      errors: [{ field: "battery.capacity_kwh", message: "must be > 0" }],
    });
    expect(e.status).toBe(422);
    expect(e.detail).toBe("invalid config");
    expect(e.errors).toEqual([{ field: "battery.capacity_kwh", message: "must be > 0" }]);
  });
  it("understands FastAPI's default detail list", () => {
    const e = errorFromReply(422, "", { detail: [{ loc: ["body", "minutes"], msg: "too small" }] });
    expect(e.errors).toEqual([{ field: "body.minutes", message: "too small" }]);
    expect(e.detail).toBe("body.minutes: too small");
  });
  it("falls back to the status for empty or HTML bodies", () => {
    expect(errorFromReply(502, "Bad Gateway", null).detail).toBe("HTTP 502 Bad Gateway");
    expect(errorFromReply(500, "", "Internal Server Error").detail).toBe("Internal Server Error");
  });
});

describe("messageOf", () => {
  it("names timeouts and network errors", () => {
    expect(messageOf(new ApiError(409, "no trainable forecaster"))).toBe("no trainable forecaster");
    expect(messageOf(new DOMException("x", "TimeoutError"))).toBe("Request timed out after 10 s");
    expect(messageOf(new TypeError("Failed to fetch"))).toBe("Network error: Failed to fetch");
  });
});

describe("mapFieldErrors", () => {
  it("assigns errors to keys, prefixes stripped, unknown ones to the general slot", () => {
    const keys = ["battery.capacity_kwh", "grid.max_kw"];
    expect(
      mapFieldErrors(
        [
          { field: "battery.capacity_kwh", message: "a" },
          { field: "changes.grid.max_kw", message: "b" },
          { field: "body.changes.grid.max_kw", message: "c" },
          { field: "nope", message: "d" },
        ],
        keys,
      ),
    ).toEqual({ "battery.capacity_kwh": ["a"], "grid.max_kw": ["b", "c"], "": ["d"] });
  });
});

describe("tokenFromHash", () => {
  it("reads and strips the token", () => {
    expect(tokenFromHash("#token=abc123")).toEqual({ token: "abc123", rest: "" });
    expect(tokenFromHash("#token=abc&x=1")).toEqual({ token: "abc", rest: "x=1" });
    expect(tokenFromHash("#section")).toEqual({ token: null, rest: "section" });
    expect(tokenFromHash("")).toEqual({ token: null, rest: "" });
  });
});

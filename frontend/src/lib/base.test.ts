import { describe, expect, it } from "vitest";
import { appPath, fullPath, normaliseBase } from "./base";

const INGRESS = "/api/hassio_ingress/AbC-12/";

describe("base path", () => {
  it("normalises", () => {
    expect(normaliseBase("")).toBe("/");
    expect(normaliseBase("/")).toBe("/");
    expect(normaliseBase("/api/hassio_ingress/AbC-12")).toBe(INGRESS);
  });

  it("strips the base from a page path and puts it back", () => {
    expect(appPath(`${INGRESS}planning`, INGRESS)).toBe("/planning");
    expect(appPath("/api/hassio_ingress/AbC-12", INGRESS)).toBe("/");
    expect(fullPath("/planning", INGRESS)).toBe(`${INGRESS}planning`);
    expect(fullPath("api/v1", INGRESS)).toBe(`${INGRESS}api/v1`);
  });

  it("is the identity without ingress", () => {
    expect(appPath("/aurora", "/")).toBe("/aurora");
    expect(fullPath("/aurora", "/")).toBe("/aurora");
  });

  it("leaves a path outside the base alone", () => {
    expect(appPath("/elsewhere", INGRESS)).toBe("/elsewhere");
  });
});

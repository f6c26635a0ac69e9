import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../../src/config/parse-config.js";
import { createCrashPoints, parseCrashAt, type CrashPoint } from "../../../src/fs/crash-points.js";
import { PROJECT_ROOT } from "../../support/paths.js";

describe("crash points (ROTABOT_CRASH_AT)", () => {
  it("parses a point and the time it is reached", () => {
    expect(parseCrashAt("vault:before-rename")).toEqual({ point: "vault:before-rename", occurrence: 1 });
    expect(parseCrashAt(" audit:before-head#7 ")).toEqual({ point: "audit:before-head", occurrence: 7 });
    for (const bad of ["vault:nowhere", "vault:before-rename#0", "vault:before-rename#x", ""])
      expect(parseCrashAt(bad)).toBeUndefined();
  });

  it("stops only at the n-th time the chosen point is reached", () => {
    const stops: number[] = [];
    let reached = 0;
    const reach = createCrashPoints({ point: "vault:before-rename", occurrence: 2 }, () => stops.push(reached));
    const points: CrashPoint[] = [
      "vault:before-rename",
      "audit:before-head",
      "vault:before-rename",
      "vault:before-rename",
    ];
    for (const point of points) {
      reached++;
      reach(point);
    }
    expect(stops).toEqual([3]);
  });

  it("is read once by config; an unknown point is a configuration error naming the setting", () => {
    const options = { purpose: "cli" as const, packageRoot: PROJECT_ROOT };
    expect(parseConfig({ ROTABOT_CRASH_AT: "manifest:after-rename#2" }, options).crashAt).toEqual({
      point: "manifest:after-rename",
      occurrence: 2,
    });
    expect(parseConfig({}, options).crashAt).toBeUndefined();
    expect(() => parseConfig({ ROTABOT_CRASH_AT: "somewhere" }, options)).toThrow(ConfigError);
    expect(() => parseConfig({ ROTABOT_CRASH_AT: "somewhere" }, options)).toThrow(
      /ROTABOT_CRASH_AT must name a crash point/,
    );
  });
});

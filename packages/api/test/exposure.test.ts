// Issue 16.2: HOST=0.0.0.0 without LML_TOKEN opened every mutation to the network without a word.
import { UsageError } from "@lml/core";
import { describe, expect, it } from "vitest";
import { checkDashboardExposure, isLoopbackHost } from "../src/index";

describe("who can reach the dashboard", () => {
  it("tells loopback from everything else", () => {
    for (const host of [
      "127.0.0.1",
      "127.8.9.1",
      "localhost",
      "LOCALHOST",
      "app.localhost",
      "::1",
      "[::1]",
      "0:0:0:0:0:0:0:1",
      "::ffff:127.0.0.1",
    ])
      expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ["0.0.0.0", "::", "[::]", "192.168.1.20", "10.0.0.1", "lab.example.org", "128.0.0.1", "::2"])
      expect(isLoopbackHost(host), host).toBe(false);
  });

  it("refuses a non-loopback HOST without LML_TOKEN, naming the fix and the override", () => {
    expect(() => checkDashboardExposure({ host: "0.0.0.0", port: 3000 })).toThrow(UsageError);
    expect(() => checkDashboardExposure({ host: "0.0.0.0", port: 3000, token: "" })).toThrow(
      /^HOST=0\.0\.0\.0 \(port 3000\) makes the dashboard reachable from other machines, and without LML_TOKEN anyone who reaches it can submit, cancel and re-queue runs: set LML_TOKEN .* `npm start -- --insecure` starts it open anyway$/,
    );
  });

  it("starts open only when told --insecure, with a loud warning; warns about a short token", () => {
    expect(checkDashboardExposure({ host: "192.168.1.20", port: 8080, insecure: true })).toEqual([
      "WARNING: HOST=192.168.1.20 (port 8080) without LML_TOKEN (--insecure): anyone who can reach this machine's port 8080 can submit, cancel and re-queue runs",
    ]);
    expect(checkDashboardExposure({ host: "0.0.0.0", port: 3000, token: "short" })).toEqual([
      "WARNING: HOST=0.0.0.0 (port 3000): LML_TOKEN is 5 characters long; use at least 16 random ones",
    ]);
    expect(checkDashboardExposure({ host: "0.0.0.0", port: 3000, token: "a-long-random-secret-value" })).toEqual([]);
    expect(checkDashboardExposure({ host: "127.0.0.1", port: 3000 })).toEqual([]);
  });
});

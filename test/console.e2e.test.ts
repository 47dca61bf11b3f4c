// The web console in real headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core; no downloaded browser) against a real region on loopback:
// PostgreSQL, the manager serving the built console, a local coordinator and ffmpeg.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { build } from "vite";
import { startTestRegion, waitFor, type TestRegion } from "./support/region.js";
import { recordDecisions } from "../runtime/manager/store/autoscaler.js";
import { makeTestSource } from "../runtime/engine/testsrc.js";

// DOM shapes used inside page.evaluate (the test program itself has no DOM lib)
type W = { sessionStorage: { getItem(k: string): string | null }; __noReload?: boolean; document: Doc };
type El = {
  tagName: string;
  textContent: string | null;
  outerHTML: string;
  parentElement: El | null;
  offsetParent: unknown;
  labels?: ArrayLike<unknown> | null;
  getAttribute(n: string): string | null;
};
type Doc = { activeElement: El | null };
type Video = { play(): Promise<void>; currentTime: number; videoHeight: number };

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SHOTS = process.env.FRAMEFLEET_SCREENSHOTS ?? path.join(os.tmpdir(), "framefleet-console");

let region: TestRegion;
let browser: BrowserContext;
let userDataDir: string;
let key: string;

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  // the console under test is the source in this tree, built as `npm run console:build` does
  await build({ configFile: path.resolve("console/vite.config.ts"), logLevel: "warn" });
  region = await startTestRegion();
  await makeTestSource(path.join(region.storeRoot, "inputs", "source.mp4"), { seconds: 4, width: 640, height: 360, fps: 25, audio: true });
  key = await region.key("console", "operator");
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "framefleet-chromium-"));
  fs.mkdirSync(SHOTS, { recursive: true });
  // a fresh profile per run (playwright passes it as --user-data-dir)
  browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1366, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--autoplay-policy=no-user-gesture-required",
    ],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await region?.cleanup();
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
});

async function signIn(page: Page): Promise<void> {
  await page.goto(region.manager.urls.http + "/");
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Jobs" }).waitFor();
}

/** WCAG relative-luminance contrast of two CSS rgb() colours. */
function contrast(a: string, b: string): number {
  const lum = (c: string) => {
    const [r, g, bl] = (c.match(/[\d.]+/g) ?? []).slice(0, 3).map((v) => {
      const s = Number(v) / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * bl!;
  };
  const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
  return (x! + 0.05) / (y! + 0.05);
}

describe("the web console in Chromium", () => {
  it("refuses a wrong key, then signs in with the keyboard alone", async () => {
    const page = await browser.newPage();
    await page.goto(region.manager.urls.http + "/");
    // served by the manager, with its own CSP (nothing from a CDN)
    const res = await page.request.get(region.manager.urls.http + "/");
    expect(res.headers()["content-security-policy"]).toContain("default-src 'self'");
    await page.getByLabel("API key").fill("ffk_wrong_wrong");
    await page.keyboard.press("Enter");
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/not valid|malformed/);
    // keyboard: focus the field by Tab order, type, submit with Enter
    await page.getByLabel("API key").fill("");
    await page.getByLabel("API key").focus();
    await page.keyboard.type(key);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Jobs" }).waitFor();
    expect(await page.evaluate(() => (globalThis as unknown as W).sessionStorage.getItem("framefleet.apiKey"))).toBe(key);
    await page.close();
  });

  it("submits a job from the form, shows its progress bar moving to done without a reload, and plays the HLS output", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await signIn(page);
    await page.getByRole("link", { name: "Submit a job" }).click();
    await page.getByLabel("Template").selectOption("hls-preview");
    await page.getByLabel("Input").fill("store://local/inputs/source.mp4");
    await page.getByLabel("Output prefix").fill("store://local/outputs/console-hls/");
    await page.getByRole("button", { name: "Submit job" }).click();
    await page.waitForURL(/#\/jobs\/[0-9a-f-]{36}$/);
    const jobId = page.url().split("/").pop()!;
    // a marker that a reload would wipe
    await page.evaluate(() => ((globalThis as unknown as W).__noReload = true));

    const seen: number[] = [];
    const t0 = Date.now();
    await waitFor(
      "the job page to show succeeded",
      async () => {
        const v = await page
          .locator("#overall")
          .evaluate((el) => (el as unknown as { value: number }).value)
          .catch(() => undefined);
        if (v !== undefined && seen.at(-1) !== v) seen.push(v);
        const state = await page
          .locator("#job-state [data-state]")
          .getAttribute("data-state")
          .catch(() => null);
        return state === "succeeded" || state === "failed" || state === "partial";
      },
      120_000,
      50,
    );
    process.stderr.write(`[console test] job done in ${Date.now() - t0} ms\n`);
    expect(await page.locator("#job-state [data-state]").getAttribute("data-state")).toBe("succeeded");
    expect(seen.at(-1)).toBe(1);
    expect(
      seen.some((v) => v > 0 && v < 1),
      `progress values seen: ${seen.join(", ")}`,
    ).toBe(true);
    expect(seen[0]!).toBeLessThan(1);
    expect(await page.evaluate(() => (globalThis as unknown as W).__noReload)).toBe(true);
    // every task bar is full, and the server agrees with the page
    const bars = await page.locator(".task progress").evaluateAll((els) => els.map((e) => (e as unknown as { value: number }).value));
    expect(bars.length).toBeGreaterThanOrEqual(3);
    process.stderr.write(`[console test] progress values seen: ${seen.join(", ")}\n`);
    expect(bars.every((v) => v === 1)).toBe(true);
    expect((await region.api(`/v1/jobs/${jobId}`, { key })).body.state).toBe("succeeded");
    // the audit timeline is on the page
    await expect.poll(() => page.locator(".timeline li").count()).toBeGreaterThan(3);

    // the player: hls.js over MSE, reading the playlist and segments through the API
    const video = page.locator("video#player");
    await video.waitFor();
    await expect
      .poll(
        () =>
          page
            .getByRole("status")
            .filter({ hasText: /Ready|error|cannot/ })
            .first()
            .textContent(),
        { timeout: 15_000 },
      )
      .toMatch(/Ready: 1 renditions?/);
    await video.evaluate((v) => (v as unknown as Video).play());
    await expect.poll(() => video.evaluate((v) => (v as unknown as Video).currentTime), { timeout: 20_000 }).toBeGreaterThan(1);
    expect(await video.evaluate((v) => (v as unknown as Video).videoHeight)).toBeGreaterThan(0);

    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, "job.png"), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 150_000);

  it("shows a job cancelled elsewhere change state live", async () => {
    const page = await browser.newPage();
    await signIn(page);
    // slow enough to be cancelled while it runs: an upscale at the slow preset
    const submitted = await region.api("/v1/jobs", {
      method: "POST",
      key,
      json: {
        composition: {
          apiVersion: "framefleet/v1",
          engine: { name: "ffmpeg", version: "5.1" },
          input: { uri: "store://local/inputs/source.mp4" },
          output: { uri: "store://local/outputs/console-cancel/" },
          video: {
            renditions: [
              {
                name: "big",
                height: 1080,
                codec: "h264",
                preset: "slow",
                rateControl: { mode: "vbr", bitrateKbps: 6000, maxrateKbps: 8000 },
              },
            ],
          },
          packaging: { mp4: {} },
        },
      },
    });
    expect(submitted.status).toBe(201);
    const id = submitted.body.id as string;
    // the jobs list shows it, then the job page
    const row = page.locator(`tr[data-job="${id}"] [data-state]`);
    await row.waitFor();
    expect(["queued", "running"]).toContain(await row.getAttribute("data-state"));
    await page.evaluate(() => ((globalThis as unknown as W).__noReload = true));
    const cancelled = await region.api(`/v1/jobs/${id}/cancel`, { method: "POST", key });
    expect(cancelled.status).toBe(202);
    await expect.poll(() => row.getAttribute("data-state"), { timeout: 10_000 }).toBe("cancelled");

    await page.locator(`tr[data-job="${id}"] a`).click();
    await expect.poll(() => page.locator("#job-state [data-state]").getAttribute("data-state")).toBe("cancelled");
    expect(await page.getByRole("button", { name: "Cancel job" }).count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as W).__noReload)).toBe(true);
    await page.close();
  });

  it("is accessible: every control has a label, states are text, text meets AA contrast", async () => {
    const page = await browser.newPage();
    await signIn(page);
    const jobs = (await region.api("/v1/jobs?state=succeeded", { key })).body.jobs as { id: string }[];
    expect(jobs.length).toBeGreaterThan(0);
    for (const hash of ["#/jobs", `#/jobs/${jobs[0]!.id}`, "#/submit", "#/region", "#/webhooks"]) {
      await page.goto(region.manager.urls.http + "/" + hash);
      await page.locator("main h1").waitFor();
      // the pages with state badges are checked once they show them
      if (hash === "#/jobs") await page.locator("table.jobs tbody tr").first().waitFor();
      if (hash.startsWith("#/jobs/")) await page.locator(".task .badge").first().waitFor();
      const unlabelled = await page.locator("input, select, textarea, button, progress, video").evaluateAll((els) =>
        (els as unknown as El[])
          .filter((el) => {
            const name =
              el.labels?.length ||
              el.getAttribute("aria-label") ||
              el.getAttribute("aria-labelledby") ||
              (el.tagName === "BUTTON" && el.textContent?.trim());
            return !name;
          })
          .map((el) => el.outerHTML.slice(0, 80)),
      );
      expect(unlabelled, hash).toEqual([]);
      await page.screenshot({ path: path.join(SHOTS, `${hash.slice(2).replace(/\//g, "-")}.png`), fullPage: true });
      const pairs = await page
        .locator("main p, main label, main a, main td, main th, main .badge, main button, main h1, header a, header button")
        .evaluateAll((els) => {
          const g = globalThis as unknown as { getComputedStyle(e: El): { color: string; backgroundColor: string } };
          const bg = (el: El | null): string => {
            for (let e = el; e; e = e.parentElement) {
              const c = g.getComputedStyle(e).backgroundColor;
              if (c && c !== "rgba(0, 0, 0, 0)" && c !== "transparent") return c;
            }
            return "rgb(255, 255, 255)";
          };
          return (els as unknown as El[])
            .filter((e) => e.offsetParent !== null && e.textContent?.trim())
            .map((e) => ({ text: e.textContent!.trim().slice(0, 30), fg: g.getComputedStyle(e).color, bg: bg(e) }));
        });
      expect(pairs.length).toBeGreaterThan(0);
      for (const p of pairs) expect(contrast(p.fg, p.bg), `${hash} "${p.text}" ${p.fg} on ${p.bg}`).toBeGreaterThanOrEqual(4.5);
    }
    // the navigation is reachable by keyboard, and the current page is marked
    await page.goto(region.manager.urls.http + "/#/jobs");
    await page.reload();
    await page.locator("main h1").waitFor();
    await page.keyboard.press("Tab"); // skip link
    expect(await page.evaluate(() => (globalThis as unknown as W).document.activeElement?.textContent)).toBe("Skip to content");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => (globalThis as unknown as W).document.activeElement?.textContent)).toBe("Jobs");
    expect(await page.getByRole("link", { name: "Jobs" }).getAttribute("aria-current")).toBe("page");
    await page.goto(region.manager.urls.http + "/#/region");
    await page.getByRole("img", { name: /Queue depth/ }).waitFor();
    // a scaling decision recorded now reaches the open region page live (region events, operator key)
    await recordDecisions(region.manager.db, [
      { pool: "cpu", action: "launch", hostGroup: "cpu-spot", count: 1, reason: "console test: waiting work", data: { from: 0, to: 1 } },
    ]);
    const decision = page
      .getByRole("table", { name: "Recent scaling decisions" })
      .getByRole("row")
      .filter({ hasText: "console test: waiting work" });
    await decision.waitFor();
    expect(await decision.textContent()).toContain("0 → 1");
    await page.screenshot({ path: path.join(SHOTS, "region.png"), fullPage: true });
    await page.close();
  });
});

// The console's build: Vite bundles Preact and hls.js into console/dist, which the
// manager serves at / (no CDN at run time). Preact needs no Vite plugin: Vite's own
// transform compiles its JSX (automatic runtime, import source preact).
import { defineConfig } from "vite";

export default defineConfig({
  root: import.meta.dirname,
  base: "/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: true,
    // hls.js is loaded on the job page only
    chunkSizeWarningLimit: 600,
  },
  server: { proxy: { "/v1": "http://127.0.0.1:8080", "/ws": { target: "ws://127.0.0.1:8080", ws: true } } },
});

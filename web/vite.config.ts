import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// Two entry points: the practice app (/) and the patient page (/join), so that patients load only what they
// need. Everything is served by the falcon app itself (design/web.md); `npm run dev` proxies the API.
export default defineConfig({
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    target: "es2022",
    // No inline polyfill script: the CSP allows scripts from 'self' only.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    // libsodium (sumo, WASM embedded) alone is ~500 KB raw in the app and in the Argon2 worker; expected.
    chunkSizeWarningLimit: 1300, // and zxcvbn's English dictionary, loaded only by the registration
    rolldownOptions: {
      input: { main: here("index.html"), join: here("join/index.html") },
    },
  },
  worker: { format: "es" },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8000",
      "/ws": { target: "ws://127.0.0.1:8000", ws: true },
    },
  },
});

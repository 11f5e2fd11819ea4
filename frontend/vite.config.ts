/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The production build goes straight into the Python package, which serves it:
// index.html at "/" (and the SPA paths), hashed assets under "assets/". URLs are relative
// to index.html's <base href>, which the server sets to the ingress prefix behind Home
// Assistant (and "/" otherwise).
export default defineConfig({
  base: "./",
  plugins: [react()],
  build: {
    outDir: "../src/darkstar/web/static",
    emptyOutDir: true,
    assetsDir: "assets",
    chunkSizeWarningLimit: 900,
  },
  server: {
    host: "127.0.0.1",
    port: 5173,
    proxy: {
      "/api": { target: "http://127.0.0.1:8000", changeOrigin: true, ws: true },
    },
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts"],
  },
});

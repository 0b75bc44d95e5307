/**
 * Vite build of the dashboard: static files in dist/ with relative asset URLs, so the coordinator can
 * serve the folder at `/` (or under any prefix). `npm run dev -w @llm-forge/dashboard` proxies the API
 * to the coordinator at FORGE_COORDINATOR_URL (default http://127.0.0.1:3000).
 */
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { API_PATH_PREFIXES } from './src/api/paths.ts';

const coordinator = process.env.FORGE_COORDINATOR_URL ?? 'http://127.0.0.1:3000';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 700 },
  server: {
    proxy: Object.fromEntries(API_PATH_PREFIXES.map((p) => [p, { target: coordinator, changeOrigin: true }])),
  },
});

// Vite builds web/ into web/dist, which the gateway serves (gateway/src/web-app.ts). The dev
// server proxies the API to a running gateway (MOSAIC_GATEWAY, default 127.0.0.1:4000), so the
// app always talks to its own origin: no CORS, same URLs as in production.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const gateway = process.env.MOSAIC_GATEWAY ?? 'http://127.0.0.1:4000';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, target: 'es2022' },
  server: {
    port: 5173,
    proxy: Object.fromEntries(['/graphql', '/v1', '/media'].map((p) => [p, gateway])),
  },
});

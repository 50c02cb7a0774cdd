import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** The example web app: built to examples/web/dist, which the server serves at / (see SERVE_WEB_APP). */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  // React's automatic JSX runtime through Vite's own transform: no extra plugin needed to build.
  oxc: { jsx: { runtime: 'automatic' } },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
  logLevel: 'warn',
});

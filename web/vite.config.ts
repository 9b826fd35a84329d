// Builds the console into dist/: index.html plus content-hashed files under assets/, which
// usher embeds and serves with a year's caching (docs/internals/console.md).
import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';

export default defineConfig({
  plugins: [preact({ prerender: { enabled: false } })],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    // Everything is a file of its own: the Content-Security-Policy allows no inline code.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2022',
    // zxcvbn (the password strength meter) is about 820 KB with its dictionaries: it is loaded
    // on demand, in a chunk named after it, and is the one chunk allowed past 500 KB.
    chunkSizeWarningLimit: 900,
    rollupOptions: {
      output: {
        manualChunks: (id) => (id.includes('/node_modules/zxcvbn/') ? 'zxcvbn' : undefined),
        entryFileNames: 'assets/[name]-[hash].js',
        chunkFileNames: 'assets/[name]-[hash].js',
        assetFileNames: 'assets/[name]-[hash][extname]',
      },
    },
  },
  // `npm run dev` serves the sources and sends the API to a local `usher serve`.
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
});

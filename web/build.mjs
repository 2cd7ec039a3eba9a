// Builds the dashboard (web/src) into web/dist: one JavaScript and one CSS bundle named by their
// content hash, the page that loads them, and gzip and brotli copies the service sends to
// browsers that accept them. Runs at install (package.json `prepare`), so `npm start` serves a
// built dashboard with no extra step; it takes well under a second.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';

const webDir = import.meta.dirname;
const dist = join(webDir, 'dist');

export async function buildDashboard({ log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(join(dist, 'assets'), { recursive: true });
  const result = await build({
    entryPoints: [join(webDir, 'src', 'main.tsx')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    entryNames: '[name]-[hash]',
    outdir: join(dist, 'assets'),
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((file) => basename(file));
  const script = outputs.find((file) => file.endsWith('.js'));
  const style = outputs.find((file) => file.endsWith('.css'));
  const page = readFileSync(join(webDir, 'src', 'index.html'), 'utf8')
    .replace('{{script}}', `/assets/${script}`)
    .replace('{{style}}', `/assets/${style}`);
  writeFileSync(join(dist, 'index.html'), page);
  for (const file of ['index.html', ...outputs.map((name) => join('assets', name))]) {
    const body = readFileSync(join(dist, file));
    writeFileSync(join(dist, `${file}.gz`), gzipSync(body, { level: 9 }));
    writeFileSync(join(dist, `${file}.br`), brotliCompressSync(body));
  }
  log(`dashboard built into ${dist} (${outputs.join(', ')})`);
  return { dist, files: ['index.html', ...outputs.map((name) => `assets/${name}`)] };
}

if (import.meta.url === `file://${process.argv[1]}`) await buildDashboard();

// Builds the console into one folder that notaloned serves (--console-dir):
//   index.html, assets/app-<hash>.js, assets/app-<hash>.css, lazily loaded chunks,
//   and a .gz beside every text file, so that the server never compresses at run time.
// Names under assets/ carry a content hash: the server lets browsers keep them for a year,
// and a new build is picked up because index.html (never cached) names the new files.
//
//   node build.mjs [--out DIR] [--dev]      (default DIR: ../build/web)

import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function option(name, fallback) {
    const i = process.argv.indexOf(name);
    return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const out = resolve(option('--out', join(here, '..', 'build', 'web')));
const dev = process.argv.includes('--dev');

// A stale hashed file would be served (and cached for a year) for nothing: start clean.
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });

const result = await build({
    absWorkingDir: here, // the metafile's paths are relative to web/, wherever this runs from
    entryPoints: { app: join(here, 'src', 'main.js') },
    bundle: true,
    splitting: true, // the map (Leaflet) loads only on pages that show one
    format: 'esm',
    target: ['chrome109', 'firefox115', 'safari16'],
    outdir: join(out, 'assets'),
    entryNames: '[name]-[hash]',
    chunkNames: 'chunk-[hash]',
    assetNames: '[name]-[hash]',
    loader: { '.png': 'file', '.svg': 'file' },
    minify: !dev,
    sourcemap: dev ? 'linked' : false,
    metafile: true,
    legalComments: 'linked',
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': dev ? '"development"' : '"production"' },
});

// The entry's own script and stylesheet, as the metafile names them.
let script = null;
let style = null;
for (const [file, meta] of Object.entries(result.metafile.outputs)) {
    // Lazily imported modules (the map) are entry points of their own chunks too.
    if (meta.entryPoint === 'src/main.js' && file.endsWith('.js')) {
        script = '/' + relative(out, resolve(here, file));
        if (meta.cssBundle) style = '/' + relative(out, resolve(here, meta.cssBundle));
    }
}
if (!script || !style) throw new Error('build: no entry script or stylesheet in the output');

const page = readFileSync(join(here, 'index.html'), 'utf8')
    .replace('%APP_CSS%', style)
    .replace('%APP_JS%', script);
writeFileSync(join(out, 'index.html'), page);
writeFileSync(join(out, 'favicon.svg'), readFileSync(join(here, 'favicon.svg')));

// Precompressed copies of the text files; the server sends them to browsers that take gzip.
const textTypes = /\.(html|js|css|svg|json|txt|map)$/;
function compressAll(dir) {
    for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) compressAll(path);
        else if (textTypes.test(name)) writeFileSync(path + '.gz', gzipSync(readFileSync(path), { level: 9 }));
    }
}
compressAll(out);

let total = 0;
for (const [file, meta] of Object.entries(result.metafile.outputs)) total += meta.bytes;
console.log(`console built in ${out}: ${script}, ${style}, ${(total / 1024).toFixed(0)} KiB before gzip`);

/**
 * Builds the referral panel's preview into .data/preview: the force-app components compiled by the
 * real LWC compiler (@lwc/rollup-plugin) with lightning-base-components, bundled by rollup. What the
 * platform would serve is replaced by the preview's data through aliases: lightning/uiRecordApi,
 * lightning/uiObjectInfoApi, lightning/platformShowToastEvent and @salesforce/apex/* resolve to
 * tests/preview/platform, @salesforce/schema/* to { objectApiName, fieldApiName } and
 * preview:fixtures to the states of states.ts.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { rollup } from 'rollup';
import type { Plugin } from 'rollup';
import lwc from '@lwc/rollup-plugin';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import { LWC_DIR, ROOT, previewStates } from './states.ts';
import type { PreviewState } from './states.ts';

export const PREVIEW_DIR = path.join(ROOT, '.data', 'preview');
const here = path.join(ROOT, 'tests', 'preview');
const PLATFORM: Record<string, string> = {
  'lightning/uiRecordApi': path.join(here, 'platform', 'uiRecordApi.js'),
  'lightning/uiObjectInfoApi': path.join(here, 'platform', 'uiObjectInfoApi.js'),
  'lightning/platformShowToastEvent': path.join(here, 'platform', 'platformShowToastEvent.js'),
};
const APEX_MODULE = path.join(here, 'platform', 'apex.js');

function previewModules(states: PreviewState[]): Plugin {
  return {
    name: 'cosell-preview-modules',
    resolveId(source) {
      if (PLATFORM[source]) return PLATFORM[source];
      if (source === 'preview:fixtures') return '\0preview:fixtures';
      if (source.startsWith('@salesforce/schema/') || source.startsWith('@salesforce/apex/')) {
        return `\0${source}`;
      }
      return null;
    },
    load(id) {
      if (id === '\0preview:fixtures') {
        return `export default ${JSON.stringify({ states })};`;
      }
      if (id.startsWith('\0@salesforce/schema/')) {
        const [objectApiName, fieldApiName] = id.slice('\0@salesforce/schema/'.length).split('.');
        const value = fieldApiName ? { objectApiName, fieldApiName } : { objectApiName };
        return `export default ${JSON.stringify(value)};`;
      }
      if (id.startsWith('\0@salesforce/apex/')) {
        const method = id.slice('\0@salesforce/apex/'.length);
        return `import { apexMethod } from ${JSON.stringify(APEX_MODULE)};\nexport default apexMethod(${JSON.stringify(method)});`;
      }
      return null;
    },
    transform(code) {
      // The engine reads process.env.NODE_ENV and the base components import.meta.env.SSR, which a
      // bundler defines; a browser has neither.
      if (!code.includes('process.env.NODE_ENV') && !code.includes('import.meta.env.SSR')) return null;
      return {
        code: code
          .replaceAll('process.env.NODE_ENV', '"production"')
          .replaceAll('import.meta.env.SSR', 'false'),
        map: null,
      };
    },
  };
}

async function componentAliases(): Promise<{ name: string; path: string }[]> {
  const bundles = await readdir(LWC_DIR, { withFileTypes: true });
  return bundles
    .filter((entry) => entry.isDirectory())
    .map((entry) => ({ name: `c/${entry.name}`, path: path.join(LWC_DIR, entry.name, `${entry.name}.js`) }));
}

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <link rel="icon" href="data:," />
    <link rel="stylesheet" href="/assets/styles/salesforce-lightning-design-system.min.css" />
    <title>Referral panel preview</title>
  </head>
  <body class="slds-scope" style="background: #f3f3f3">
    <main class="slds-p-around_medium" style="max-width: 26rem">
      <p class="slds-text-title_caps" data-id="state-title"></p>
      <p class="slds-text-body_small slds-m-bottom_small" data-id="state-description"></p>
      <div data-id="panel"></div>
      <ul class="slds-m-top_small" data-id="toasts" aria-label="Toasts the panel sent"></ul>
    </main>
    <script type="module" src="/panel.js"></script>
  </body>
</html>
`;

/** Every file the bundle is made of, outside node_modules: the components and the preview itself. */
async function sourceFiles(): Promise<string[]> {
  const files: string[] = [];
  for (const dir of [LWC_DIR, here]) {
    for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) files.push(path.join(entry.parentPath, entry.name));
    }
  }
  return files.sort();
}

/** A digest of the sources, the states and the installed compiler and base components. */
async function inputsDigest(states: PreviewState[]): Promise<string> {
  const hash = createHash('sha256');
  for (const file of await sourceFiles()) {
    hash.update(file).update(await readFile(file));
  }
  for (const manifest of ['lwc', '@lwc/rollup-plugin', 'lightning-base-components', 'rollup']) {
    hash.update(await readFile(path.join(ROOT, 'node_modules', manifest, 'package.json')));
  }
  return hash.update(JSON.stringify(states)).digest('hex');
}

/**
 * Builds the preview; returns the directory and the states it renders. Compiling the base
 * components takes most of a minute on a busy machine, so a build whose inputs have not changed
 * since the last one (same digest in .inputs) is reused.
 */
export async function buildPreview(
  outDir = PREVIEW_DIR,
  { force = false } = {},
): Promise<{ dir: string; states: PreviewState[]; rebuilt: boolean }> {
  const states = previewStates();
  const digest = await inputsDigest(states);
  const stamp = path.join(outDir, '.inputs');
  const previous = await readFile(stamp, 'utf8').catch(() => '');
  if (!force && previous === digest) {
    return { dir: outDir, states, rebuilt: false };
  }
  const bundle = await rollup({
    input: path.join(here, 'app', 'main.js'),
    plugins: [
      previewModules(states),
      lwc({
        modules: [...(await componentAliases()), { npm: 'lightning-base-components' }],
        // The combobox attaches ElementInternals, which synthetic shadow allows only when asked.
        enableSyntheticElementInternals: true,
      }),
      nodeResolve(),
    ],
    onwarn(warning, warn) {
      // lightning-base-components' own circular imports and template notes are not this project's.
      if (warning.code === 'CIRCULAR_DEPENDENCY') return;
      if ((warning.id ?? '').includes(`${path.sep}lightning-base-components${path.sep}`)) return;
      warn(warning);
    },
  });
  try {
    await mkdir(outDir, { recursive: true });
    await bundle.write({
      file: path.join(outDir, 'panel.js'),
      format: 'esm',
      sourcemap: false,
      inlineDynamicImports: true,
    });
  } finally {
    await bundle.close();
  }
  await writeFile(path.join(outDir, 'index.html'), PAGE);
  await writeFile(stamp, digest);
  return { dir: outDir, states, rebuilt: true };
}

/**
 * apigen: VPP .api.json -> src/vpp/binapi/*.ts for the whitelisted messages.
 * Usage: npm run apigen [-- --api-dir DIR] [--out DIR] [--check]
 * --check exits non-zero when the committed bindings differ from what the definitions give.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultApiDirs, loadApi } from './apidefs.ts';
import { emit } from './emit.ts';
import { WHITELIST } from './messages.ts';

const { values } = parseArgs({
  options: {
    'api-dir': { type: 'string', multiple: true },
    out: { type: 'string', default: new URL('../../src/vpp/binapi', import.meta.url).pathname },
    check: { type: 'boolean', default: false },
  },
});

const dirs = values['api-dir'] ?? defaultApiDirs();
const reg = loadApi(dirs);
const { files } = emit(reg, WHITELIST, 'VPP API definitions (26.06)');
const out = values.out as string;
mkdirSync(out, { recursive: true });
let stale = 0;
for (const [name, text] of files) {
  const p = join(out, name);
  if (values.check) {
    if (!existsSync(p) || readFileSync(p, 'utf8') !== text) {
      console.error(`stale: ${p}`);
      stale++;
    }
  } else writeFileSync(p, text);
}
if (values.check && stale) process.exit(1);
console.log(`${values.check ? 'checked' : 'wrote'} ${files.size} files in ${out} from ${dirs.join(', ')}`);

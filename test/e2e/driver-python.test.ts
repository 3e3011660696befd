// The Python driver's own unit tests (neutron/networking_netvpp/tests), run with Debian's python3
// so `npm test` covers them; they need python3-neutron (scripts/neutron/install.sh) and skip without.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { it } from 'node:test';
import { PYTHON, REPO_ROOT } from './neutron-harness.ts';

function unavailable(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import neutron, neutron_lib, eventlet'], { encoding: 'utf8' });
  if (r.error) return `${PYTHON} is missing`;
  return r.status === 0 ? null : 'python3-neutron is not installed (scripts/neutron/install.sh)';
}

const skip = unavailable();

it(
  'passes the networking-netvpp unit tests (python3 -m unittest)',
  { skip: skip ?? false, timeout: 120_000 },
  () => {
    const r = spawnSync(PYTHON, ['-m', 'unittest', 'discover', '-s', 'networking_netvpp/tests', '-t', '.'], {
      cwd: join(REPO_ROOT, 'neutron'),
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, `python unit tests failed:\n${r.stderr}\n${r.stdout}`);
    assert.match(r.stderr, /^OK/m);
  },
);

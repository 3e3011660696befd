import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd } from '../../src/store/etcd-process.ts';
import { openStore } from '../../src/store/client.ts';

describe('startEtcd', () => {
  it('starts several instances at once on distinct ports', async (t) => {
    const all = await Promise.all(Array.from({ length: 4 }, () => startEtcd()));
    t.after(() => Promise.all(all.map((e) => e.destroy())));
    assert.equal(new Set(all.map((e) => e.endpoints[0])).size, 4);
    for (const [i, e] of all.entries()) {
      const s = openStore({ endpoints: e.endpoints });
      await s.put('who', String(i));
      assert.equal((await s.get('who')).kv?.value, String(i));
      s.close();
    }
  });

  it('restart keeps ports and data; wipeData loses the data; destroy removes its temp dir', async (t) => {
    const e = await startEtcd();
    t.after(() => e.destroy());
    const s = openStore({ endpoints: e.endpoints });
    t.after(() => s.close());
    const endpoint = e.endpoints[0];
    await s.put('k', 'v');
    await e.kill();
    assert.equal(e.pid, undefined);
    await e.restart();
    assert.equal(e.endpoints[0], endpoint);
    assert.equal((await s.get('k')).kv?.value, 'v');
    await e.restart({ wipeData: true });
    assert.equal((await s.get('k')).kv, undefined);
    await e.destroy();
    assert.equal(existsSync(e.dataDir), false);
  });

  it('reuses a given data dir and leaves it in place', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'netvpp-etcd-given-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const first = await startEtcd({ dataDir: dir });
    const s1 = openStore({ endpoints: first.endpoints });
    await s1.put('k', 'kept');
    s1.close();
    await first.destroy();
    assert.ok(existsSync(join(dir, 'etcd.log')));
    const second = await startEtcd({ dataDir: dir });
    t.after(() => second.destroy());
    const s2 = openStore({ endpoints: second.endpoints });
    t.after(() => s2.close());
    assert.equal((await s2.get('k')).kv?.value, 'kept');
  });
});

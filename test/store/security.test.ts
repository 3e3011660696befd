import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { Range } from 'etcd3';
import { startEtcd } from '../../src/store/etcd-process.ts';
import { openStore } from '../../src/store/client.ts';
import { watchPrefixes } from '../../src/store/watch.ts';
import { makeCerts } from './helpers/certs.ts';
import { waitFor } from './helpers/wait.ts';

describe('store security options', { concurrency: true }, () => {
  it('talks TLS with a client certificate; without one etcd refuses', async (t) => {
    const certs = makeCerts();
    t.after(() => rmSync(certs.dir, { recursive: true, force: true }));
    const etcd = await startEtcd({
      tls: { certFile: certs.serverCert, keyFile: certs.serverKey, caFile: certs.ca },
    });
    t.after(() => etcd.destroy());
    assert.match(etcd.endpoints[0], /^https:/);

    // Paths and PEM text are both accepted.
    const s = openStore({
      endpoints: etcd.endpoints,
      tls: { ca: certs.ca, cert: readFileSync(certs.clientCert, 'utf8'), key: certs.clientKey },
    });
    t.after(() => s.close());
    const seen: string[] = [];
    const w = watchPrefixes(s, {
      prefixes: ['tls/'],
      onEvent: (e) => void (e.type === 'put' && seen.push(e.value)),
    });
    t.after(() => w.close());
    await w.ready;
    await s.put('tls/k', 'secret');
    assert.equal((await s.get('tls/k')).kv?.value, 'secret');
    await waitFor('watch event over TLS', () => seen.includes('secret'));

    const noClientCert = openStore({
      endpoints: etcd.endpoints,
      tls: { ca: certs.ca },
      requestTimeoutMs: 2000,
    });
    t.after(() => noClientCert.close());
    await assert.rejects(noClientCert.get('tls/k'));
  });

  it('authenticates with a user; a role limits it to its prefix', async (t) => {
    const etcd = await startEtcd();
    t.after(() => etcd.destroy());
    const admin = openStore({ endpoints: etcd.endpoints });
    t.after(() => admin.close());
    const root = admin.etcd;
    await root.user('root').create('rootpw');
    await root.user('root').addRole('root');
    await root.role('agent-h1').create();
    await root
      .role('agent-h1')
      .grant({ permission: 'Readwrite', range: Range.prefix('/netvpp/v1/state/h1/') });
    await root.user('h1').create('h1pw');
    await root.user('h1').addRole('agent-h1');
    await root.auth.authEnable();

    const agent = openStore({
      endpoints: etcd.endpoints,
      namespace: '/netvpp/v1/',
      auth: { username: 'h1', password: 'h1pw' },
    });
    t.after(() => agent.close());
    await agent.put('state/h1/alive', '1');
    assert.equal((await agent.get('state/h1/alive')).kv?.value, '1');
    await assert.rejects(agent.put('state/h2/alive', '1'), /permission denied/);
    const anonymous = openStore({ endpoints: etcd.endpoints, namespace: '/netvpp/v1/' });
    t.after(() => anonymous.close());
    await assert.rejects(anonymous.get('state/h1/alive'));
  });
});

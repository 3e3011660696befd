// The controller's web dashboard in a real headless Chromium (Debian's `chromium`, driven by
// playwright-core): the login with a read-only token, a port going ACTIVE live, an injected VPP
// failure shown with its error and in the port's chain. etcd, the controller and the agent (on a VPP
// simulator) are real; the journal rows are what the ML2 driver sends. Screenshots are saved in a
// directory under the OS temp dir, printed by the test. Skips where /usr/bin/chromium is missing
// (scripts/install-deps.sh installs it).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { Controller } from '../../src/controller/controller.ts';
import { startEtcd, type EtcdProcess } from '../../src/store/index.ts';
import { neutronPort, row, uid } from '../controller/fixtures.ts';
import { ready, startController } from '../controller/helpers.ts';
import { AgentNode } from './agent-node.ts';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} is missing (scripts/install-deps.sh installs chromium)`;

const DRIVER_TOKEN = 'driver-token-0123456789abcdef';
const VIEW_TOKEN = 'dashboard-token-0123456789abcdef';

/** A port of Neutron's DHCP agent on compute1: bound as a tap, nothing to filter. */
const tapPort = (n: number) =>
  neutronPort({
    id: uid(n),
    device_owner: 'network:dhcp',
    'binding:vif_type': 'tap',
    'binding:vif_details': {},
    security_groups: [],
    port_security_enabled: false,
    mac_address: `fa:16:3e:00:00:${n.toString(16).padStart(2, '0')}`,
    fixed_ips: [],
  });

describe('the dashboard in headless Chromium', { skip }, () => {
  let etcd: EtcdProcess;
  let ctl: Controller;
  let node: AgentNode;
  let browser: BrowserContext;
  let page: Page;
  let dir: string;
  const shots = mkdtempSync(join(tmpdir(), 'netvpp-dashboard-shots-'));
  const shot = async (name: string) => {
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  };
  /** Waits until the element's text matches; on time-out the error shows the text it had. */
  const waitText = async (selector: string, re: RegExp, limitMs = 30_000): Promise<string> => {
    const deadline = Date.now() + limitMs;
    let text = '';
    while (Date.now() < deadline) {
      text = (await page.textContent(selector)) ?? '';
      if (re.test(text)) return text;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${selector} never matched ${re}; it shows:\n${text}`);
  };
  const api = (path: string, init: RequestInit = {}) => fetch(`${ctl.url}${path}`, init);
  const journal = (rows: unknown[]) =>
    api('/v1/journal', {
      method: 'POST',
      body: JSON.stringify({ rows }),
      headers: { authorization: `Bearer ${DRIVER_TOKEN}`, 'content-type': 'application/json' },
    });

  before(
    async () => {
      dir = mkdtempSync(join(tmpdir(), 'netvpp-dashboard-'));
      writeFileSync(join(dir, 'driver-tokens'), `${DRIVER_TOKEN}\n`);
      writeFileSync(join(dir, 'dashboard-tokens'), `# read-only\n${VIEW_TOKEN}\n`);
      etcd = await startEtcd();
      ctl = await startController(etcd.endpoints, {
        id: 'dash',
        authTokenFile: join(dir, 'driver-tokens'),
        dashboardTokenFile: join(dir, 'dashboard-tokens'),
      });
      await ready(ctl);
      node = new AgentNode({
        etcdEndpoints: etcd.endpoints,
        host: 'compute1',
        physnets: ['physnet1'],
        vhostUserDir: join(dir, 'vhost'),
      });
      await node.start();
      mkdirSync(join(dir, 'chromium'));
      browser = await chromium.launchPersistentContext(join(dir, 'chromium'), {
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
      page = browser.pages()[0] ?? (await browser.newPage());
      console.log(`[dashboard] screenshots in ${shots}`);
    },
    { timeout: 120_000 },
  );

  after(async () => {
    await browser?.close();
    await node?.stop();
    await ctl?.stop();
    await etcd?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('asks for a token, and a read-only one opens a view that can write nothing', async () => {
    assert.equal((await api('/v1/overview')).status, 401, 'no data without a token');
    await page.goto(`${ctl.url}/dashboard`);
    await page.fill('#token', 'not-a-token-at-all-0000');
    await page.click('button[type=submit]');
    assert.match((await page.textContent('#login-error')) ?? '', /not accepted/);
    await page.fill('#token', VIEW_TOKEN);
    await page.click('button[type=submit]');
    await page.waitForSelector('#live.live');
    await shot('1-logged-in');
    const hosts = await page.$$eval('#hosts tbody tr', (trs) =>
      trs.map((tr) => tr.getAttribute('data-host')),
    );
    assert.deepEqual(hosts, ['compute1']);

    const cookie = (await browser.cookies()).find((c) => c.name === 'netvpp_dashboard');
    assert.ok(cookie?.httpOnly, 'the session cookie is out of reach of scripts');
    const body = JSON.stringify({ rows: [row('port', 'update', tapPort(9))] });
    const headers = { 'content-type': 'application/json' };
    const withCookie = await api('/v1/journal', {
      method: 'POST',
      body,
      headers: { ...headers, cookie: `netvpp_dashboard=${cookie.value}` },
    });
    assert.equal(withCookie.status, 401, 'the session opens no write');
    const withViewToken = await api('/v1/journal', {
      method: 'POST',
      body,
      headers: { ...headers, authorization: `Bearer ${VIEW_TOKEN}` },
    });
    assert.equal(withViewToken.status, 403, 'a dashboard token is no driver token');
  });

  it('shows a port going ACTIVE without a reload, and its chain', async () => {
    // A mark on this document: a reload would lose it.
    await page.evaluate('globalThis.netvppMarker = 1');
    assert.equal(await page.textContent('#count-ACTIVE'), 'ACTIVE 0');
    const p1 = uid(1);
    assert.equal((await journal([row('port', 'update', tapPort(1))])).status, 200);
    await page.waitForSelector(`tr[data-port="${p1}"] td.status-ACTIVE`, { timeout: 30_000 });
    assert.equal(await page.textContent('#count-ACTIVE'), 'ACTIVE 1');
    assert.equal(await page.evaluate('globalThis.netvppMarker'), 1, 'updated live, not reloaded');
    await page.click(`tr[data-port="${p1}"]`);
    await waitText('#chain', new RegExp(`^port ${p1}: UP`));
    const chain = (await page.textContent('#chain')) ?? '';
    assert.match(chain, /binding {3}nodes\/compute1\/ports\//);
    assert.match(chain, /agent {5}compute1: alive/);
    await shot('2-port-active');
  });

  it('shows an injected failure with its error, in the failing list and in the chain', async () => {
    const p2 = uid(2);
    node.failVpp('tap_create_v3', -12);
    assert.equal((await journal([row('port', 'update', tapPort(2))])).status, 200);
    const failing = await page.waitForSelector(`tr[data-failing="port:${p2}"]`, { timeout: 30_000 });
    assert.match(
      (await failing.textContent()) ?? '',
      /tap_create_v3 failed: VPP returned -12 \(SYSCALL_ERROR_2\)/,
    );
    assert.equal(await page.textContent(`tr[data-port="${p2}"] td.status`), 'ERROR');
    assert.equal(await page.textContent('#count-ERROR'), 'ERROR 1');
    await page.click(`tr[data-failing="port:${p2}"]`);
    await waitText('#chain', new RegExp(`^port ${p2}: DOWN`));
    assert.match((await page.textContent('#chain')) ?? '', /tap_create_v3 failed/);
    await shot('3-port-failed');

    node.clearVppFaults();
    await page.waitForSelector(`tr[data-port="${p2}"] td.status-ACTIVE`, { timeout: 60_000 });
    assert.equal(await page.isHidden('#failing tbody tr'), true, 'nothing fails any more');
    await waitText('#chain', new RegExp(`^port ${p2}: UP`));
    await shot('4-port-recovered');
  });
});

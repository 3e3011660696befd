/**
 * `netvpp sim --socket PATH [--nic NAME ...] [--no-vhost-net] [--check-host] [--without GROUP ...]`:
 * runs the VPP simulator until SIGINT/SIGTERM, then removes its socket.
 */
import { parseArgs } from 'node:util';
import { startSimulator } from './index.ts';
import { logger } from '../util/log.ts';
import { GROUPS, type GroupName } from '../vpp/groups.ts';

const log = logger('vpp-sim');

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    socket: { type: 'string', default: process.env.NETVPP_VPP_SOCKET ?? '/run/vpp/api.sock' },
    'no-vhost-net': { type: 'boolean', default: false },
    'check-host': { type: 'boolean', default: false },
    nic: { type: 'string', multiple: true, default: [] },
    without: { type: 'string', multiple: true, default: [] },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  const optional = GROUPS.filter((g) => !g.required).map((g) => g.name);
  console.log(
    'usage: netvpp sim [--socket PATH] [--nic NAME ...] [--no-vhost-net] [--check-host] [--without GROUP ...]\n' +
      '  --socket PATH             API socket to serve (default /run/vpp/api.sock)\n' +
      '  --nic NAME                a physical NIC present at start (repeatable), e.g. GigabitEthernet0/8/0\n' +
      '  --no-vhost-net            tap_create_v3 fails with -11, as on a host without /dev/vhost-net\n' +
      '  --check-host              af_packet needs /sys/class/net/<name>, a vhost-user server its directory\n' +
      `  --without GROUP           a VPP without that plugin's messages (repeatable): ${optional.join(', ')}`,
  );
  process.exit(0);
}

const sim = await startSimulator({
  socket: values.socket as string,
  vhostNet: !values['no-vhost-net'],
  checkHost: values['check-host'] as boolean,
  nics: values.nic as string[],
  withoutGroups: values.without as GroupName[],
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info('stopping the VPP simulator', { signal });
  await sim.stop();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

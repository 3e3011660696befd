// `netvpp agent [flags]`: runs the agent until SIGINT/SIGTERM. Configuration: docs/agent.md.
import { logger } from '../util/log.ts';
import { ConfigError, loadConfig, usage } from './config.ts';
import { startAgent } from './run.ts';

const log = logger('agent');
const argv = process.argv.slice(2);

async function main(): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(`usage: netvpp agent [--config-file PATH] [options]\n${usage()}`);
    return;
  }
  const config = loadConfig({ argv });
  const running = await startAgent(config);
  if (running.health)
    log.info('health endpoint listening', {
      url: `http://${config.health?.host}:${running.health.port}/health`,
    });
  let stopping = false;
  const stop = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    log.info(`${sig}: stopping`);
    running.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        log.error('stop failed', { error: e instanceof Error ? e.message : String(e) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((e: unknown) => {
  if (e instanceof ConfigError) {
    console.error(e.message);
    process.exitCode = 2;
    return;
  }
  log.error('agent failed to start', { error: e instanceof Error ? e.message : String(e) });
  process.exitCode = 1;
});

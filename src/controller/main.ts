// Entry point: `netvpp controller [--config-file PATH] [options]` (docs/controller.md).
import { logger } from '../util/log.ts';
import { loadConfig, parseArgs, USAGE } from './config.ts';
import { Controller } from './controller.ts';

const log = logger('controller');

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    console.log(USAGE);
    return;
  }
  const { config, source } = loadConfig(args);
  log.info('configuration loaded', { file: source ?? '(none; defaults, env and flags)' });
  const c = await Controller.start(config, log);
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info('signal received', { signal: sig });
    c.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        log.error('stop failed', { error: e });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((e: unknown) => {
  log.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});

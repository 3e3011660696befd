// `netvpp controller [--config-file PATH ...] [options]`: the controller as a daemon, until
// SIGINT/SIGTERM; also `node src/controller/main.ts`. Configuration: docs/controller.md.
import { Command } from 'commander';
import { configureLog, logger } from '../util/log.ts';
import { addControllerOptions, controllerArgs, loadConfig } from './config.ts';

export function controllerCommand(): Command {
  return addControllerOptions(
    new Command('controller').description(
      'run the netvpp controller: Neutron’s journal → desired state in etcd (docs/controller.md)',
    ),
  ).action(async (_opts: unknown, cmd: Command) => {
    const log = logger('controller');
    let loaded;
    try {
      loaded = loadConfig(controllerArgs(cmd.opts()));
    } catch (e) {
      log.error(e instanceof Error ? e.message : String(e));
      process.exitCode = 2;
      return;
    }
    configureLog(loaded.log);
    log.info('configuration loaded', { file: loaded.source ?? '(none; defaults, env and flags)' });
    const { Controller } = await import('./controller.ts');
    const c = await Controller.start(loaded.config, log);
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
  });
}

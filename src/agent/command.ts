// `netvpp agent [--config-file PATH ...] [options]`: the agent as a daemon, until SIGINT/SIGTERM.
// The options are the agent's table (config.ts); the same command serves `netvpp agent` and
// `node src/agent/main.ts`. Configuration: docs/agent.md.
import { Command } from 'commander';
import { logger } from '../util/log.ts';
import { addAgentOptions, agentArgs, ConfigError, loadConfig } from './config.ts';

export function agentCommand(): Command {
  return addAgentOptions(
    new Command('agent').description('run the netvpp agent: make this node’s VPP match etcd (docs/agent.md)'),
  ).action(async (_opts: unknown, cmd: Command) => {
    let config;
    try {
      config = loadConfig({ args: agentArgs(cmd.opts()) });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      console.error(e.message);
      process.exitCode = 2;
      return;
    }
    await runAgentDaemon(config);
  });
}

async function runAgentDaemon(config: ReturnType<typeof loadConfig>): Promise<void> {
  const { startAgent } = await import('./run.ts');
  const log = logger('agent');
  let running;
  try {
    running = await startAgent(config);
  } catch (e) {
    log.error('agent failed to start', { error: e instanceof Error ? e.message : String(e) });
    process.exitCode = 1;
    return;
  }
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

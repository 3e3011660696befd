// The `netvpp` command line: every subcommand on one commander program, the daemons' options from
// their option tables (src/agent/config.ts, src/controller/config.ts). Modules behind a command are
// imported when it runs, so `netvpp --help` loads little.
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { addAgentOptions, agentArgs } from '../agent/config.ts';
import { agentCommand } from '../agent/command.ts';
import { controllerCommand } from '../controller/command.ts';
import type { HostArgs } from './inspect-host.ts';

/** netvpp's version: package.json's. */
export function netvppVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

interface JsonOpt {
  json?: boolean;
}

/** A command that reads the agent's configuration (this host's etcd and VPP), with --json. */
function hostCommand(name: string, description: string): Command {
  return addAgentOptions(new Command(name).description(description)).option('--json', 'print JSON');
}

const hostArgs = (cmd: Command): HostArgs => ({
  args: agentArgs(cmd.opts()),
  json: (cmd.opts() as JsonOpt).json === true,
});

export function buildProgram(): Command {
  const program = new Command('netvpp')
    .description('OpenStack Neutron networking on the FD.io VPP dataplane')
    .version(netvppVersion(), '-V, --version', 'print the version')
    .showHelpAfterError('(netvpp --help lists the commands; netvpp <command> --help its options)');

  program
    .command('demo')
    .description('the embedded stack: etcd, the controller, agents on the VPP simulator (npm start)')
    .option('--once', 'stop after showing the port')
    .action(async (o: { once?: boolean }) => {
      const { runDemo } = await import('./demo.ts');
      await runDemo({ once: o.once === true });
    });

  program
    .command('vpp')
    .description("VPP's version, interfaces, bridge domains and ACLs")
    .addOption(new Option('--socket <path>', 'VPP API socket').env('NETVPP_VPP_SOCKET'))
    .action(async (o: { socket?: string }) => {
      const [{ showVpp }, { DEFAULT_SOCKET }] = await Promise.all([
        import('./vpp-show.ts'),
        import('../vpp/client.ts'),
      ]);
      await showVpp(o.socket ?? DEFAULT_SOCKET);
    });

  program
    .command('sim')
    .description('run the VPP simulator (netvpp sim --help lists its options)')
    // The simulator's own entry point (src/sim/main.ts, also run by the benchmarks) parses them.
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (_o: unknown, cmd: Command) => {
      process.argv = [process.argv[0], 'sim', ...cmd.args];
      await import('../sim/main.ts');
    });

  program.addCommand(agentCommand());
  program.addCommand(controllerCommand());

  program.addCommand(
    hostCommand('plan', 'what the agent on this host would change in VPP now (docs/cli.md)').action(
      async (_o: unknown, cmd: Command) => {
        const { runPlan } = await import('./plan.ts');
        process.exitCode = await runPlan(hostArgs(cmd));
      },
    ),
  );
  program.addCommand(
    hostCommand('audit', 'desired ⇄ reported ⇄ VPP per port; exit 1 when they differ (docs/cli.md)').action(
      async (_o: unknown, cmd: Command) => {
        const { runAudit } = await import('./audit.ts');
        process.exitCode = await runAudit(hostArgs(cmd));
      },
    ),
  );
  program.addCommand(
    hostCommand(
      'status',
      'hosts (agent, VPP, ports, failing objects, held deletions), the leading controller, the full sync',
    ).action(async (_o: unknown, cmd: Command) => {
      const { runStatus } = await import('./status.ts');
      process.exitCode = await runStatus(hostArgs(cmd));
    }),
  );

  const port = program.command('port').description('one port: netvpp port show <port-id>');
  port.addCommand(
    hostCommand(
      'show',
      'why a port is (not) up: Neutron → binding in etcd → agent state and error → VPP objects; exit 1 when down',
    )
      .argument('<port-id>', "the port's Neutron id")
      .action(async (portId: string, _o: unknown, cmd: Command) => {
        const { runPortShow } = await import('./port-show.ts');
        process.exitCode = await runPortShow(portId, hostArgs(cmd));
      }),
  );

  program.addCommand(
    hostCommand(
      'resync',
      'with --host H: the agent on H re-reads VPP and goes over everything; without: a full sync from Neutron',
    )
      .option('--no-wait', 'return once requested')
      .option('--timeout <seconds>', 'how long to wait for it', '120')
      .action(async (o: { wait: boolean; timeout: string }, cmd: Command) => {
        const { runResync } = await import('./resync.ts');
        const timeoutSec = Number(o.timeout);
        if (!(timeoutSec > 0)) cmd.error(`--timeout must be a number of seconds, got ${o.timeout}`);
        process.exitCode = await runResync({ ...hostArgs(cmd), wait: o.wait, timeoutSec });
      }),
  );
  // etcd-setup and sync parse their own arguments (src/cli/etcd-setup.ts, sync.ts; `--help` there):
  // they came with the security work before the shared parser; folding them in is left to issue 16.
  for (const [name, what] of [
    ['etcd-setup', 'etcd roles and users for the controller and each host (docs/security.md)'],
    ['sync', 'the full sync held for deleting too much; --confirm applies it (docs/security.md)'],
  ] as const) {
    program
      .command(name)
      .description(what)
      .helpOption(false)
      .allowUnknownOption()
      .allowExcessArguments()
      .action(async (_o: unknown, cmd: Command) => {
        if (name === 'sync') {
          const { runSync } = await import('./sync.ts');
          process.exitCode = await runSync(cmd.args);
        } else {
          const { runEtcdSetup } = await import('./etcd-setup.ts');
          process.exitCode = await runEtcdSetup(cmd.args);
        }
      });
  }
  const keysCmd = program.command('keys').description('signing keys for desired state (docs/security.md)');
  keysCmd
    .command('generate')
    .description(
      'write a new Ed25519 key pair: <dir>/<key id>.key (controller) and <dir>/<key id>.pub (agents)',
    )
    .requiredOption('--out <dir>', 'directory to write the two PEM files to (made if missing)')
    .option('--kid <key id>', 'the key id (default netvpp-<date>-<start of the key fingerprint>)')
    .action(async (o: { out: string; kid?: string }, cmd: Command) => {
      const { generateKeyFiles } = await import('../model/signing.ts');
      try {
        const k = generateKeyFiles(o.out, o.kid);
        process.stdout.write(
          `key id ${k.kid}\n  private (controller [security] signing_key_file): ${k.privateFile}\n` +
            `  public (agents [security] verify_keys): ${k.publicFile}\n`,
        );
      } catch (e) {
        cmd.error(`netvpp keys generate: ${(e as Error).message}`);
      }
    });
  const config = program.command('config').description('netvpp.ini: netvpp config sample');
  config
    .command('sample')
    .description('print a complete commented netvpp.ini, generated from the option tables')
    .action(async () => {
      const { configSample } = await import('./config-sample.ts');
      process.stdout.write(configSample());
    });
  return program;
}

/**
 * The `netvpp` command.
 *   netvpp demo [--once]          the whole local stack on an embedded default (etcd, controller,
 *                                 agents, the VPP simulator when no VPP is installed)
 *   netvpp vpp [--socket PATH]    VPP's version, interfaces, bridge domains and ACLs
 *   netvpp sim --socket PATH      run the VPP simulator
 *   netvpp agent [options]        run the agent (see docs/agent.md)
 *   netvpp plan [options] [--json]   what the agent on this host would change now (docs/cli.md)
 *   netvpp audit [options] [--json]  desired ⇄ reported ⇄ VPP; exit 1 when they differ (docs/cli.md)
 *   netvpp controller [options]   run the controller (see docs/controller.md)
 *   netvpp etcd-setup --host H ...  etcd roles and users for the controller and each host (docs/security.md)
 *   netvpp sync [--confirm [ID]]  the full sync held for deleting too much; confirm it (docs/security.md)
 */
import { DEFAULT_SOCKET } from '../vpp/client.ts';

const [cmd, ...rest] = process.argv.slice(2);

function flag(name: string): string | undefined {
  const i = rest.indexOf(`--${name}`);
  return i >= 0 ? rest[i + 1] : undefined;
}

async function main(): Promise<void> {
  switch (cmd) {
    case 'demo': {
      const { runDemo } = await import('./demo.ts');
      await runDemo({ once: rest.includes('--once') });
      return;
    }
    case 'vpp': {
      const { showVpp } = await import('./vpp-show.ts');
      await showVpp(flag('socket') ?? process.env.NETVPP_VPP_SOCKET ?? DEFAULT_SOCKET);
      return;
    }
    case 'plan': {
      const { runPlan } = await import('./plan.ts');
      process.exitCode = await runPlan(rest);
      return;
    }
    case 'audit': {
      const { runAudit } = await import('./audit.ts');
      process.exitCode = await runAudit(rest);
      return;
    }
    case 'etcd-setup': {
      const { runEtcdSetup } = await import('./etcd-setup.ts');
      process.exitCode = await runEtcdSetup(rest);
      return;
    }
    case 'sync': {
      const { runSync } = await import('./sync.ts');
      process.exitCode = await runSync(rest);
      return;
    }
    case 'sim':
    case 'agent':
    case 'controller': {
      // Each daemon's main module reads process.argv itself.
      process.argv.splice(2, 1);
      const mains: Record<string, string> = {
        sim: '../sim/main.ts',
        agent: '../agent/main.ts',
        controller: '../controller/main.ts',
      };
      await import(mains[cmd]);
      return;
    }
    default:
      console.error(
        'usage: netvpp demo [--once] | vpp [--socket PATH] | sim --socket PATH | agent [...] | controller [...] | ' +
          'plan [...] [--json] | audit [...] [--json] | sync [--confirm [ID]] | etcd-setup [...]',
      );
      process.exitCode = cmd ? 2 : 0;
  }
}

main().catch((e: unknown) => {
  console.error(`netvpp ${cmd}: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});

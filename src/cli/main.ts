// The `netvpp` command (bin/netvpp.mjs): the subcommands are in program.ts; `netvpp --help` lists them.
import { runCommand } from '../util/cli-options.ts';
import { buildProgram } from './program.ts';

const argv = process.argv.slice(2);
const program = buildProgram();
try {
  // No command: the list of commands, and no error.
  await runCommand(program, argv.length === 0 ? ['--help'] : argv);
} catch (e) {
  console.error(`netvpp ${argv[0] ?? ''}: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
}

// `node src/agent/main.ts [options]`: the same as `netvpp agent [options]` (command.ts).
import { runCommand } from '../util/cli-options.ts';
import { agentCommand } from './command.ts';

await runCommand(agentCommand(), process.argv.slice(2));

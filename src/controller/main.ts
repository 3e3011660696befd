// `node src/controller/main.ts [options]`: the same as `netvpp controller [options]` (command.ts).
import { runCommand } from '../util/cli-options.ts';
import { controllerCommand } from './command.ts';

try {
  await runCommand(controllerCommand(), process.argv.slice(2));
} catch (e) {
  console.error(`netvpp controller: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}

// The command line of every netvpp command, on commander: the option tables of netvpp.ini
// (src/util/ini.ts `OptionSpec`) become `--flag VALUE` options, so one table gives the ini file,
// the environment, the flags and `--help`. `--config-file` may be repeated (oslo.config: later files
// override earlier ones).
import { Command, CommanderError, Option } from 'commander';
import { type OptionSpec, sectionLabel } from './ini.ts';

export const DEFAULT_CONFIG_FILE = '/etc/netvpp/netvpp.ini';

/** What the command line says about configuration: the files named and each flag's value by option name. */
export interface ConfigArgs<N extends string = string> {
  /** In order; empty: NETVPP_CONFIG, else the default file. */
  configFiles: string[];
  flags: Partial<Record<N, string>>;
  /** Problems found on the command line itself (former flag names). */
  problems: string[];
}

/** A flag that was renamed: using it is an error naming the new one. */
export interface FormerFlag {
  flag: string;
  now: string;
}

const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

/** The help text of one option: what it is, then where else it can be set. */
export function optionHelp(o: OptionSpec): string {
  const def = o.default !== undefined ? `; default ${o.default}` : '';
  return `${o.help} (${o.env}; ${sectionLabel(o.section)} ${o.name}${def})`;
}

/**
 * Adds `--config-file PATH` (repeatable) and one option per spec to `cmd`; a boolean spec is a
 * switch (`--debug`). Former flags are accepted, hidden, and reported by `configArgs`.
 */
export function addOptionTable(
  cmd: Command,
  specs: readonly OptionSpec[],
  former: readonly FormerFlag[] = [],
): Command {
  cmd.addOption(
    new Option(
      '--config-file <path>',
      `ini file, repeatable: later files override earlier ones (NETVPP_CONFIG; default ${DEFAULT_CONFIG_FILE})`,
    ).argParser(collect),
  );
  for (const o of specs) {
    cmd.addOption(new Option(o.boolean ? `--${o.flag}` : `--${o.flag} <value>`, optionHelp(o)));
  }
  for (const f of former) cmd.addOption(new Option(`--${f.flag} <value>`).hideHelp());
  return cmd;
}

const attr = (flag: string): string => new Option(`--${flag} <v>`).attributeName();

/** The values commander parsed for a table added with `addOptionTable`, by option name. */
export function configArgs<N extends string>(
  opts: Record<string, unknown>,
  specs: readonly OptionSpec<N>[],
  former: readonly FormerFlag[] = [],
): ConfigArgs<N> {
  const flags: Partial<Record<N, string>> = {};
  for (const o of specs) {
    const v = opts[attr(o.flag)];
    if (v === true) flags[o.name] = 'true';
    else if (typeof v === 'string') flags[o.name] = v;
  }
  const problems = former
    .filter((f) => opts[attr(f.flag)] !== undefined)
    .map((f) => `unknown flag --${f.flag} (now --${f.now})`);
  const files = opts[attr('config-file')];
  return { configFiles: Array.isArray(files) ? (files as string[]) : [], flags, problems };
}

/** Settings every netvpp command shares: errors are thrown (exit status decided by the caller). */
export function quietCommand(name: string): Command {
  return new Command(name)
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
}

/**
 * Parses `argv` (options only) against an option table without exiting: unknown flags and stray
 * arguments are problems (all of them, so a config loader can report everything at once).
 * For `loadConfig({argv})` and tests; commands parse with their own commander `Command`.
 */
export function parseOptionArgs<N extends string>(
  specs: readonly OptionSpec<N>[],
  argv: readonly string[],
  former: readonly FormerFlag[] = [],
): ConfigArgs<N> {
  const cmd = addOptionTable(quietCommand('netvpp'), specs, former);
  const problems: string[] = [];
  let rest = [...argv];
  while (rest.length > 0) {
    let parsed: { operands: string[]; unknown: string[] };
    try {
      parsed = cmd.parseOptions(rest);
    } catch (e) {
      if (!(e instanceof CommanderError)) throw e;
      const flag = /'(--[a-z0-9-]+)/.exec(e.message)?.[1];
      problems.push(
        e.code === 'commander.optionMissingArgument' && flag
          ? `flag ${flag} needs a value`
          : e.message.replace(/^error: /, ''),
      );
      break;
    }
    for (const a of parsed.operands) problems.push(`unexpected argument ${JSON.stringify(a)}`);
    const [first, ...after] = parsed.unknown;
    if (first === undefined) break;
    problems.push(`unknown flag ${first.replace(/=.*$/, '')}`);
    // Its value, if it has one, goes with it.
    rest =
      !first.includes('=') && after[0] !== undefined && !after[0].startsWith('-') ? after.slice(1) : after;
  }
  const out = configArgs(cmd.opts(), specs, former);
  return { ...out, problems: [...problems, ...out.problems] };
}

/** Every command below `cmd` (itself included) throws instead of exiting. */
function throwOnExit(cmd: Command): void {
  cmd.exitOverride();
  for (const c of cmd.commands) throwOnExit(c);
}

/**
 * Runs a command line and sets the exit status: help and --version 0, a usage error (unknown
 * option, missing value, unknown command) 2 — commander has printed the message — else whatever the
 * action set.
 */
export async function runCommand(cmd: Command, argv: readonly string[]): Promise<void> {
  throwOnExit(cmd);
  try {
    await cmd.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    process.exitCode = e.exitCode === 0 ? 0 : 2;
  }
}

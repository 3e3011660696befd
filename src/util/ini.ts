// netvpp.ini: one OpenStack-style ini parser for every daemon, and the rules that let the agent and
// the controller share one file (/etc/netvpp/netvpp.ini): which sections each daemon reads, and how
// an option's value is chosen from the file, the environment and the command line.

import { readFileSync } from 'node:fs';

/** One option's value and the line it was read from (1-based). */
export interface IniValue {
  value: string;
  line: number;
  /** The file it was read from, when several were merged (`mergeIni`). */
  file?: string;
}

export interface IniSection {
  /** Line of the section's first `[header]`. */
  line: number;
  /** Options by lower-cased name. */
  options: Map<string, IniValue>;
}

/** Sections by lower-cased name (`[DEFAULT]` is `default`). */
export type Ini = Map<string, IniSection>;

/**
 * Parses ini text: `[section]`, `option = value` or `option: value`, `#`/`;` comment lines, and
 * indented continuation lines, each appended to the value above it after a newline (a comment line
 * in between is skipped; a blank line ends the value). Section and option names are lower-cased;
 * values are trimmed; a repeated section adds to the first and a repeated option replaces the value.
 * Never throws: every line it cannot read is a `file:line: …` problem.
 */
export function parseIni(text: string, file = 'config'): { ini: Ini; problems: string[] } {
  const ini: Ini = new Map();
  const problems: string[] = [];
  let section: IniSection | undefined;
  let last: IniValue | undefined;
  text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .forEach((raw, i) => {
      const line = raw.trim();
      const at = `${file}:${i + 1}`;
      if (line === '') {
        last = undefined;
        return;
      }
      if (line.startsWith('#') || line.startsWith(';')) return;
      if (last && /^\s/.test(raw)) {
        last.value += '\n' + line;
        return;
      }
      last = undefined;
      const sec = /^\[([^\]]+)\]$/.exec(line);
      if (sec) {
        const name = sec[1].trim().toLowerCase();
        section = ini.get(name) ?? { line: i + 1, options: new Map() };
        ini.set(name, section);
        return;
      }
      const kv = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(line);
      if (!kv) {
        problems.push(`${at}: expected "option = value" or "[section]", got ${JSON.stringify(line)}`);
        return;
      }
      if (!section) {
        problems.push(`${at}: option ${kv[1]} appears before any [section]`);
        return;
      }
      last = { value: kv[2], line: i + 1 };
      section.options.set(kv[1].toLowerCase(), last);
    });
  return { ini, problems };
}

/** The value of `[section] option`, if the file has it. */
export function iniValue(ini: Ini, section: string, option: string): IniValue | undefined {
  return ini.get(section)?.options.get(option);
}

/** One option: `[section] name` in the ini file, an environment variable and a `--flag`. */
export interface OptionSpec<N extends string = string> {
  /** Lower-case ini option name; also the option's name in messages. */
  name: N;
  /** Lower-case section name (`default` for `[DEFAULT]`). */
  section: string;
  env: string;
  /** Without the leading `--`. */
  flag: string;
  help: string;
  /** Used when no source sets the option. */
  default?: string;
  /** A switch on the command line (`--debug`, no value); `true`/`false` in the file and environment. */
  boolean?: boolean;
}

/** Shows a section as netvpp's messages and usage texts do: `[DEFAULT]`, `[ETCD]`. */
export function sectionLabel(section: string): string {
  return `[${section.toUpperCase()}]`;
}

export interface ResolvedOptions<N extends string> {
  values: Partial<Record<N, string>>;
  /** Where a value came from, for messages: `file:line [SECTION] name`, `ENV_NAME`, `--flag` or `default name`. */
  where: (name: N) => string;
}

/**
 * Each option's value: its default, replaced by the ini file, replaced by a non-empty environment
 * variable, replaced by the flag (`flags` is keyed by option name).
 */
export function resolveOptions<N extends string>(
  specs: readonly OptionSpec<N>[],
  sources: { ini: Ini; file: string | null; env: NodeJS.ProcessEnv; flags: Partial<Record<N, string>> },
): ResolvedOptions<N> {
  const values: Partial<Record<N, string>> = {};
  const from = new Map<N, string>();
  for (const o of specs) {
    if (o.default !== undefined) values[o.name] = o.default;
    const iv = iniValue(sources.ini, o.section, o.name);
    if (iv !== undefined) {
      values[o.name] = iv.value;
      from.set(
        o.name,
        `${iv.file ?? sources.file ?? 'config'}:${iv.line} ${sectionLabel(o.section)} ${o.name}`,
      );
    }
    const ev = sources.env[o.env];
    if (ev !== undefined && ev !== '') {
      values[o.name] = ev;
      from.set(o.name, o.env);
    }
    const fv = sources.flags[o.name];
    if (fv !== undefined) {
      values[o.name] = fv;
      from.set(o.name, `--${o.flag}`);
    }
  }
  return { values, where: (name) => from.get(name) ?? `default ${name}` };
}

// ---- The shared /etc/netvpp/netvpp.ini ----------------------------------------------------------

export type Daemon = 'agent' | 'controller';

/**
 * The sections of netvpp.ini and the daemons that read each. A daemon checks every option of the
 * sections it reads, skips the sections only other daemons read, and refuses a section nobody reads.
 */
export const NETVPP_INI_SECTIONS: ReadonlyMap<string, readonly Daemon[]> = new Map<string, readonly Daemon[]>(
  [
    ['default', ['agent', 'controller']],
    ['etcd', ['agent', 'controller']],
    ['agent', ['agent']],
    ['vpp', ['agent']],
    ['vxlan', ['agent']],
    ['controller', ['controller']],
    ['security', ['agent', 'controller']],
  ],
);

/**
 * [security]: signed desired state (src/model/signing.ts). The controller signs with
 * signing_key_file, agents verify with verify_keys; each daemon accepts the other's option in a
 * shared file and ignores it.
 */
export const SIGNING_KEY_OPTION: OptionSpec<'signing_key_file'> = {
  name: 'signing_key_file',
  section: 'security',
  env: 'NETVPP_SIGNING_KEY_FILE',
  flag: 'signing-key-file',
  help: 'sign every value written to etcd with this Ed25519 key, <key id>.key (netvpp keys generate); unset: unsigned',
};

export const VERIFY_KEYS_OPTION: OptionSpec<'verify_keys'> = {
  name: 'verify_keys',
  section: 'security',
  env: 'NETVPP_VERIFY_KEYS',
  flag: 'verify-keys',
  help: 'accept only desired state signed by these public keys: <key id>.pub files or directories of them, comma-separated; unset: unsigned accepted',
};

export type LogOptionName = 'log_level' | 'debug' | 'log_file' | 'use_json';

/** The logging options of [DEFAULT], oslo.log's names (src/util/log-config.ts reads them). */
export const LOG_OPTIONS: readonly OptionSpec<LogOptionName>[] = [
  {
    name: 'log_level',
    section: 'default',
    env: 'NETVPP_LOG_LEVEL',
    flag: 'log-level',
    help: 'debug|info|warn|error',
    default: 'info',
  },
  {
    name: 'debug',
    section: 'default',
    env: 'NETVPP_DEBUG',
    flag: 'debug',
    help: 'log at debug level (oslo.log; true|false)',
    boolean: true,
  },
  {
    name: 'log_file',
    section: 'default',
    env: 'NETVPP_LOG_FILE',
    flag: 'log-file',
    help: 'append log lines to this file instead of stderr (oslo.log)',
  },
  {
    name: 'use_json',
    section: 'default',
    env: 'NETVPP_USE_JSON',
    flag: 'use-json',
    help: 'log one JSON object per line (oslo.log; true|false)',
    boolean: true,
  },
];

/**
 * The options of [DEFAULT], read by both daemons (`host` only by the agent; the controller accepts
 * it so one file serves both).
 */
export const DEFAULT_SECTION_OPTIONS: readonly OptionSpec<'host' | LogOptionName>[] = [
  { name: 'host', section: 'default', env: 'NETVPP_HOST', flag: 'host', help: 'this node name' },
  ...LOG_OPTIONS,
];

/**
 * The problems `daemon` has with the sections of a parsed netvpp.ini: an option not in `known` in
 * a section it reads (with `renamed[section.option]`, the new name, as a hint), and a section no
 * daemon reads. Sections only other daemons read are not looked at.
 */
export function checkSections(
  ini: Ini,
  file: string,
  daemon: Daemon,
  known: readonly Pick<OptionSpec, 'section' | 'name'>[],
  renamed: Readonly<Record<string, string>> = {},
): string[] {
  const problems: string[] = [];
  for (const [name, sec] of ini) {
    const readers = NETVPP_INI_SECTIONS.get(name);
    if (!readers) {
      const all = [...NETVPP_INI_SECTIONS.keys()].map(sectionLabel).join(' ');
      problems.push(`${file}:${sec.line}: unknown section ${sectionLabel(name)} (netvpp.ini has ${all})`);
      continue;
    }
    if (!readers.includes(daemon)) continue;
    for (const [opt, v] of sec.options) {
      if (known.some((o) => o.section === name && o.name === opt)) continue;
      const hint = Object.hasOwn(renamed, `${name}.${opt}`) ? ` (now ${renamed[`${name}.${opt}`]})` : '';
      problems.push(`${file}:${v.line}: unknown option ${opt} in ${sectionLabel(name)}${hint}`);
    }
  }
  return problems;
}

/**
 * Reads netvpp.ini files for `daemon`: `paths` in order (each must exist; later ones override
 * earlier ones), or when null the default file if it exists. Each file's sections are checked as
 * `checkSections` does; values remember their file for messages.
 */
export function readConfigFiles(
  paths: readonly string[] | null,
  defaultFile: string,
  daemon: Daemon,
  known: readonly Pick<OptionSpec, 'section' | 'name'>[],
  renamed: Readonly<Record<string, string>> = {},
): { ini: Ini; files: string[]; problems: string[] } {
  const ini: Ini = new Map();
  const files: string[] = [];
  const problems: string[] = [];
  for (const path of paths ?? [defaultFile]) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
      if (missing && paths === null) continue; // the default file may be absent
      problems.push(
        missing
          ? `config file ${path} does not exist`
          : `cannot read config file ${path}: ${(e as Error).message}`,
      );
      continue;
    }
    files.push(path);
    const parsed = parseIni(text, path);
    problems.push(...parsed.problems, ...checkSections(parsed.ini, path, daemon, known, renamed));
    for (const [name, sec] of parsed.ini) {
      const into = ini.get(name) ?? { line: sec.line, options: new Map<string, IniValue>() };
      for (const [opt, v] of sec.options) into.options.set(opt, { ...v, file: path });
      ini.set(name, into);
    }
  }
  return { ini, files, problems };
}

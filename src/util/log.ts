/**
 * Minimal structured logger: one line per record on stderr, `level component message key=value`,
 * or one JSON object per line (oslo.log's use_json), or appended to a file (log_file).
 * Level from NETVPP_LOG_LEVEL (debug|info|warn|error), default info; tests default to warn.
 * Under systemd, when stderr is the journal, each line starts with its syslog priority (`<4>`),
 * which journald strips and keeps as the entry's PRIORITY (`journalctl -p warning` works).
 */
import { closeSync, fstatSync, openSync, writeSync } from 'node:fs';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

let threshold: Level =
  (process.env.NETVPP_LOG_LEVEL as Level | undefined) ?? (process.env.NODE_TEST_CONTEXT ? 'warn' : 'info');

export function setLogLevel(l: Level): void {
  threshold = l;
}

let json = false;
/** File descriptor of log_file; undefined: stderr. */
let fileFd: number | undefined;

export interface LogSettings {
  level: Level;
  /** One JSON object per line: {time, level, component, message, ...fields}. */
  json?: boolean;
  /** Append to this file instead of stderr (opened now: a bad path fails at start, not later). */
  file?: string | null;
}

/** Applies a daemon's logging options ([DEFAULT] log_level/debug/use_json/log_file). */
export function configureLog(s: LogSettings): void {
  threshold = s.level;
  json = s.json === true;
  if (fileFd !== undefined) closeSync(fileFd);
  fileFd = s.file ? openSync(s.file, 'a') : undefined;
}

/** syslog(3) priorities of our levels, as journald reads them from a `<N>` line prefix. */
const PRIORITY: Record<Level, number> = { debug: 7, info: 6, warn: 4, error: 3 };

let journal: boolean | undefined;
/** systemd sets JOURNAL_STREAM to `dev:inode` of the journal stream it connected (systemd.exec(5)). */
function stderrIsJournal(): boolean {
  if (journal === undefined) {
    const want = process.env.JOURNAL_STREAM;
    try {
      const st = fstatSync(2);
      journal = want !== undefined && want === `${st.dev}:${st.ino}`;
    } catch {
      journal = false;
    }
  }
  return journal;
}

function write(level: Level, line: string): void {
  if (fileFd !== undefined) writeSync(fileFd, line);
  else process.stderr.write(stderrIsJournal() ? `<${PRIORITY[level]}>${line}` : line);
}

function jsonValue(v: unknown): unknown {
  if (v instanceof Error) return v.message;
  if (typeof v === 'bigint') return v.toString();
  return v;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(component: string): Logger;
}

function fmt(v: unknown): string {
  if (v instanceof Error) return JSON.stringify(v.message);
  if (typeof v === 'string') return /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  if (typeof v === 'bigint') return v.toString();
  return JSON.stringify(v);
}

export function logger(component: string): Logger {
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>): void => {
    if (ORDER[level] < ORDER[threshold]) return;
    const time = new Date().toISOString();
    if (json) {
      const rec: Record<string, unknown> = { time, level, component, message: msg };
      for (const [k, v] of Object.entries(fields ?? {})) if (!(k in rec)) rec[k] = jsonValue(v);
      write(
        level,
        JSON.stringify(rec, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + '\n',
      );
      return;
    }
    const kv = fields
      ? Object.entries(fields)
          .map(([k, v]) => ` ${k}=${fmt(v)}`)
          .join('')
      : '';
    write(level, `${time} ${level.toUpperCase()} ${component}: ${msg}${kv}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (c) => logger(`${component}.${c}`),
  };
}

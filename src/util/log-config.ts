// The logging options of [DEFAULT] (oslo.log's names: log_level, debug, log_file, use_json), checked
// once for every daemon: `debug = true` means log_level debug, as in every OpenStack service.
import { dirname } from 'node:path';
import { existsSync } from 'node:fs';
import type { LogOptionName } from './ini.ts';
import type { Level, LogSettings } from './log.ts';

const LEVELS: Level[] = ['debug', 'info', 'warn', 'error'];

/** oslo.config's booleans: true/false, yes/no, on/off, 1/0 in any case; undefined for anything else. */
export function parseBool(v: string): boolean | undefined {
  const s = v.trim().toLowerCase();
  if (['true', 'yes', 'on', '1'].includes(s)) return true;
  if (['false', 'no', 'off', '0'].includes(s)) return false;
  return undefined;
}

export function logSettings(
  raw: Partial<Record<LogOptionName, string>>,
  where: (name: LogOptionName) => string,
  problems: string[],
): LogSettings {
  const bool = (name: 'debug' | 'use_json'): boolean => {
    const v = raw[name];
    if (v === undefined || v === '') return false;
    const b = parseBool(v);
    if (b === undefined) problems.push(`${where(name)}: must be true or false, got ${JSON.stringify(v)}`);
    return b === true;
  };
  let level = (raw.log_level ?? 'info').toLowerCase() as Level;
  if (!LEVELS.includes(level)) {
    problems.push(`${where('log_level')}: log level must be one of ${LEVELS.join('|')}`);
    level = 'info';
  }
  if (bool('debug')) level = 'debug';
  const file = raw.log_file ? raw.log_file : null;
  if (file && !existsSync(dirname(file)))
    problems.push(`${where('log_file')}: directory ${dirname(file)} does not exist`);
  return { level, json: bool('use_json'), file };
}

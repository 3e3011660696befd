// The connect-time check of netvpp's message groups against VPP's message table (name + CRC): a
// required group with a missing or changed message refuses the connection (VppVersionError); an
// optional one is turned off, with the reason.
import { msgKey } from './codec/index.ts';
import { VppVersionError } from './errors.ts';
import type { GroupStatus, MessageGroup } from './groups.ts';

interface Changed {
  name: string;
  want: string;
  have: string;
}

/** Why an optional group is off, briefly: what is missing or changed. */
function mismatch(g: MessageGroup, missing: string[], changed: Changed[]): string {
  if (!changed.length && missing.length === g.messages.length)
    return `VPP has none of its ${missing.length} messages: is ${g.provider} loaded?`;
  const list = (names: string[]): string =>
    names.length > 4 ? `${names.slice(0, 4).join(', ')} and ${names.length - 4} more` : names.join(', ');
  const parts: string[] = [];
  if (missing.length) parts.push(`missing ${list(missing)}`);
  if (changed.length)
    parts.push(
      `CRC changed: ${list(changed.map((c) => `${c.name} (netvpp built for ${c.want}, VPP has ${c.have})`))}`,
    );
  return `${parts.join('; ')}: ${g.provider} differs from the one netvpp was built for`;
}

export function groupDescription(groups: readonly MessageGroup[], name: string): string {
  return groups.find((g) => g.name === name)?.description ?? name;
}

/** Each group's status against VPP's table `ids` (`name_crc` → id); `fatal` when a required one fails. */
export function checkGroups(
  groups: readonly MessageGroup[],
  ids: ReadonlyMap<string, number>,
): { status: Record<string, GroupStatus>; fatal: VppVersionError | null } {
  const byName = new Map<string, string>();
  for (const key of ids.keys()) {
    const i = key.lastIndexOf('_');
    byName.set(key.slice(0, i), key.slice(i + 1));
  }
  const status: Record<string, GroupStatus> = {};
  const fatal = { missing: [] as string[], changed: [] as Changed[], groups: [] as string[] };
  for (const g of groups) {
    const missing: string[] = [];
    const changed: Changed[] = [];
    for (const def of g.messages) {
      if (ids.has(msgKey(def))) continue;
      const have = byName.get(def.name);
      if (have === undefined) missing.push(def.name);
      else changed.push({ name: def.name, want: def.crc, have: `0x${have}` });
    }
    if (!missing.length && !changed.length) {
      status[g.name] = { available: true, required: g.required };
    } else if (g.required) {
      fatal.missing.push(...missing);
      fatal.changed.push(...changed);
      fatal.groups.push(g.name);
    } else {
      status[g.name] = { available: false, required: false, reason: mismatch(g, missing, changed) };
    }
  }
  return {
    status,
    fatal: fatal.groups.length ? new VppVersionError(fatal.missing, fatal.changed, fatal.groups) : null,
  };
}

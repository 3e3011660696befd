// What every translation module shares: the per-row error (a bad row is rejected with its reason,
// never thrown past the batch) and the two checks that raise it.
import { type Check, formatErrors, mustBe, run, SchemaError } from '../model/validate.ts';

/** A row that can't be translated; the batch reports it and goes on. */
export class RowError extends Error {}

/** Neutron data checked against `check`; every bad field is named in the error. */
export function dataOf<T>(check: Check<T>, data: unknown, what: string): T {
  const r = run(check, data);
  if (!r.ok) throw new RowError(`invalid ${what}: ${formatErrors(r.errors)}`);
  return r.value;
}

/** Checks `value` against the schema of its key; a bad value is a bug in the row, reported as such. */
export function checked<T>(check: Check<T>, value: T, key: string): T {
  try {
    return mustBe(check, value, key);
  } catch (e) {
    if (e instanceof SchemaError) throw new RowError(e.message);
    throw e;
  }
}

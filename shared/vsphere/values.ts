/**
 * Reading decoded vim25 values where the XML carried no type: nested fields are strings, and a repeated field may
 * arrive as a single value. These helpers convert only lexically exact input (`"1024"`, `"true"`); anything else is
 * returned unchanged so the record schema rejects it instead of a guess being stored.
 */
import { isVimData, MoRef, type VimData, type VimValue } from '#shared/vsphere/xml';

/** A field of a data object, or undefined when the value is not a data object. */
export function field(value: VimValue | undefined, name: string): VimValue | undefined {
  return isVimData(value) ? value[name] : undefined;
}

/** Follows dotted field names through nested data objects: `at(disk, 'backing.datastore')`. */
export function at(value: VimValue | undefined, path: string): VimValue | undefined {
  let current = value;
  for (const name of path.split('.')) {
    current = field(current, name);
    if (current === undefined) return undefined;
  }
  return current;
}

/** A list field: a single occurrence becomes a one-element list, absence an empty one. */
export function asList(value: VimValue | undefined): VimValue[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

export function asData(value: VimValue | undefined): VimData | undefined {
  return isVimData(value) ? value : undefined;
}

export function asMoRef(value: VimValue | undefined): MoRef | undefined {
  return value instanceof MoRef ? value : undefined;
}

/** `"42"` or 42 -> 42. Non-integer text is returned as it is (the schema then reports it). */
export function integer(value: VimValue | undefined): number | VimValue | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^[+-]?\d+$/.test(value)) {
    const parsed = Number(value);
    return Number.isSafeInteger(parsed) ? parsed : value;
  }
  return value;
}

/** `"true"`/`"false"` (and the xsd forms `1`/`0`) -> boolean; anything else unchanged. */
export function boolean(value: VimValue | undefined): boolean | VimValue | undefined {
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  return value;
}

/** A finite number for arithmetic, or undefined: used for derived values (percentages) only. */
export function finiteNumber(value: VimValue | undefined): number | undefined {
  const converted = integer(value);
  return typeof converted === 'number' && Number.isFinite(converted) ? converted : undefined;
}

/** Text of a string value, or undefined for anything else. For lookups, not for stored fields. */
export function stringOf(value: VimValue | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

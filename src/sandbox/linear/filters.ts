import { EmulatorGapError } from './errors.js';

// Linear's filter language, over a small view of each entity. A filter is an object whose keys
// are field names (with a comparator or a nested filter as value) plus `and` / `or`; a
// collection (an issue's labels) takes `some` / `every` / `length`, or field comparators that
// hold when some member matches. Fields or operators the emulator does not know raise an
// error instead of being ignored: ignoring one would return too much, silently.

export type Scalar = string | number | boolean | null;

export type FilterField =
  | { kind: 'scalar'; value: Scalar }
  | { kind: 'one'; view: () => FilterView | null }
  | { kind: 'many'; views: () => FilterView[] };

export type FilterView = Record<string, FilterField>;

export const scalar = (value: Scalar): FilterField => ({ kind: 'scalar', value });
export const one = (view: () => FilterView | null): FilterField => ({ kind: 'one', view });
export const many = (views: () => FilterView[]): FilterField => ({ kind: 'many', views });

type Filter = Record<string, unknown>;

function isFilter(value: unknown): value is Filter {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function lower(value: Scalar): string {
  return String(value ?? '').toLowerCase();
}

function compare(value: Scalar, op: string, operand: unknown, path: string): boolean {
  switch (op) {
    case 'eq':
      return value === operand;
    case 'neq':
      return value !== operand;
    case 'in':
      return Array.isArray(operand) && operand.includes(value);
    case 'nin':
      return Array.isArray(operand) && !operand.includes(value);
    case 'eqIgnoreCase':
      return lower(value) === lower(operand as Scalar);
    case 'neqIgnoreCase':
      return lower(value) !== lower(operand as Scalar);
    case 'contains':
      return String(value ?? '').includes(String(operand));
    case 'notContains':
      return !String(value ?? '').includes(String(operand));
    case 'containsIgnoreCase':
      return lower(value).includes(lower(operand as Scalar));
    case 'notContainsIgnoreCase':
      return !lower(value).includes(lower(operand as Scalar));
    case 'startsWith':
      return String(value ?? '').startsWith(String(operand));
    case 'startsWithIgnoreCase':
      return lower(value).startsWith(lower(operand as Scalar));
    case 'notStartsWith':
      return !String(value ?? '').startsWith(String(operand));
    case 'endsWith':
      return String(value ?? '').endsWith(String(operand));
    case 'notEndsWith':
      return !String(value ?? '').endsWith(String(operand));
    case 'null':
      return (value === null) === operand;
    case 'gt':
      return value !== null && (value as number | string) > (operand as number | string);
    case 'gte':
      return value !== null && (value as number | string) >= (operand as number | string);
    case 'lt':
      return value !== null && (value as number | string) < (operand as number | string);
    case 'lte':
      return value !== null && (value as number | string) <= (operand as number | string);
    default:
      throw new EmulatorGapError(`The Linear emulator does not implement the comparator "${op}" (at ${path}).`);
  }
}

function matchesComparator(value: Scalar, comparator: unknown, path: string): boolean {
  if (!isFilter(comparator)) throw new EmulatorGapError(`Expected a comparator object at ${path}.`);
  return Object.entries(comparator).every(([op, operand]) => operand === undefined || compare(value, op, operand, `${path}.${op}`));
}

function matchesCollection(views: FilterView[], filter: Filter, path: string): boolean {
  return Object.entries(filter).every(([key, value]) => {
    if (value === undefined) return true;
    const at = `${path}.${key}`;
    switch (key) {
      case 'and':
        return (value as Filter[]).every((f) => matchesCollection(views, f, at));
      case 'or':
        return (value as Filter[]).some((f) => matchesCollection(views, f, at));
      case 'some':
        return views.some((view) => matches(view, value as Filter, at));
      case 'every':
        return views.every((view) => matches(view, value as Filter, at));
      case 'length':
        return matchesComparator(views.length, value, at);
      case 'null':
        return (views.length === 0) === value;
      default:
        // A field comparator on a collection holds when some member satisfies it.
        return views.some((view) => matches(view, { [key]: value }, at));
    }
  });
}

/** Whether `view` satisfies `filter`; `path` names the spot in error messages. */
export function matches(view: FilterView | null, filter: Filter | null | undefined, path = 'filter'): boolean {
  if (!filter) return true;
  return Object.entries(filter).every(([key, value]) => {
    if (value === undefined || value === null) return true;
    const at = `${path}.${key}`;
    if (key === 'and') return (value as Filter[]).every((f) => matches(view, f, at));
    if (key === 'or') return (value as Filter[]).some((f) => matches(view, f, at));
    if (key === 'null') return (view === null) === value;
    if (view === null) return false;
    const field = view[key];
    if (!field) throw new EmulatorGapError(`The Linear emulator does not implement filtering on "${key}" (at ${at}).`);
    if (!isFilter(value)) throw new EmulatorGapError(`Expected a filter object at ${at}.`);
    switch (field.kind) {
      case 'scalar':
        return matchesComparator(field.value, value, at);
      case 'one':
        return matches(field.view(), value, at);
      case 'many':
        return matchesCollection(field.views(), value, at);
    }
  });
}

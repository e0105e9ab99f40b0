import { LinearInputError } from './errors.js';

// Relay connections as Linear serves them: `first` defaults to 50, cursors are opaque strings
// (here the node's id), `orderBy` is createdAt (default) or updatedAt, newest first.

export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
  orderBy?: 'createdAt' | 'updatedAt' | null;
}

export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export interface Connection<T> {
  nodes: T[];
  edges: Array<{ cursor: string; node: T }>;
  pageInfo: PageInfo;
}

export const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 250;

interface Orderable {
  id: string;
  createdAt: string;
  updatedAt: string;
}

function pageSize(value: number | null | undefined, name: string): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 0 || value > MAX_PAGE_SIZE) {
    throw new LinearInputError(`Argument ${name} must be between 0 and ${MAX_PAGE_SIZE}.`);
  }
  return value;
}

function cursorIndex(ordered: Orderable[], cursor: string, name: string): number {
  const index = ordered.findIndex((record) => record.id === cursor);
  if (index < 0) throw new LinearInputError(`Argument ${name} is not a cursor of this list.`, 'Invalid pagination cursor.');
  return index;
}

/** Orders, slices and wraps `records` (in creation order) into a connection of `toNode` results. */
export function connection<R extends Orderable, N>(records: R[], args: PageArgs, toNode: (record: R) => N): Connection<N> {
  const key = args.orderBy ?? 'createdAt';
  // Records arrive in creation order; reversing first keeps later-created records ahead on ties.
  const ordered = [...records].reverse().sort((a, b) => (a[key] < b[key] ? 1 : a[key] > b[key] ? -1 : 0));
  let start = 0;
  let end = ordered.length;
  if (args.after) start = cursorIndex(ordered, args.after, 'after') + 1;
  if (args.before) end = cursorIndex(ordered, args.before, 'before');
  const first = pageSize(args.first, 'first');
  const last = pageSize(args.last, 'last');
  if (first !== undefined) end = Math.min(end, start + first);
  else if (last !== undefined) start = Math.max(start, end - last);
  else end = Math.min(end, start + DEFAULT_PAGE_SIZE);
  const page = ordered.slice(start, Math.max(start, end));
  const nodes = page.map(toNode);
  return {
    nodes,
    edges: page.map((record, i) => ({ cursor: record.id, node: nodes[i] as N })),
    pageInfo: {
      hasNextPage: end < ordered.length,
      hasPreviousPage: start > 0,
      startCursor: page[0]?.id ?? null,
      endCursor: page[page.length - 1]?.id ?? null,
    },
  };
}

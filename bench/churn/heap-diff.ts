// Compares two V8 heap snapshots: count and self size per group (node type and constructor), B
// minus A, largest growth first. The churn bench takes one after the last cycle
// (--heap-snapshot), so A is a short run's and B a long run's: what grows with cycles shows as
// the difference. For two snapshots of one process, --one-process also lists what B holds that A
// did not (V8 keeps an object's snapshot id for the life of the isolate, so those were allocated
// between the two and are still alive) and the retainer chains of a few of them.
//
//   node --max-old-space-size=8192 --import tsx bench/churn/heap-diff.ts A.heapsnapshot B.heapsnapshot [--top 25] [--one-process [--paths 3]]
import { readFileSync, statSync } from 'node:fs';
import { benchArgs, positiveInt } from '../options.js';

interface RawSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] }; node_count: number };
  nodes: number[];
  edges: number[];
  strings: string[];
}

interface Heap {
  raw: RawSnapshot;
  nodeFieldCount: number;
  edgeFieldCount: number;
  typeNames: string[];
  edgeTypeNames: string[];
  /** Offsets of each field in `nodes` / `edges`. */
  f: { type: number; name: number; id: number; selfSize: number; edgeCount: number; edgeType: number; edgeName: number; toNode: number };
  count: number;
  /** Index of each node's first edge in `edges`. */
  firstEdge: Uint32Array;
}

function load(file: string): Heap {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as RawSnapshot;
  const { node_fields: nf, node_types: nt, edge_fields: ef, edge_types: et } = raw.snapshot.meta;
  const nodeFieldCount = nf.length;
  const edgeFieldCount = ef.length;
  const f = {
    type: nf.indexOf('type'),
    name: nf.indexOf('name'),
    id: nf.indexOf('id'),
    selfSize: nf.indexOf('self_size'),
    edgeCount: nf.indexOf('edge_count'),
    edgeType: ef.indexOf('type'),
    edgeName: ef.indexOf('name_or_index'),
    toNode: ef.indexOf('to_node'),
  };
  const count = raw.nodes.length / nodeFieldCount;
  const firstEdge = new Uint32Array(count + 1);
  for (let i = 0, e = 0; i < count; i++) {
    firstEdge[i] = e;
    e += raw.nodes[i * nodeFieldCount + f.edgeCount]! * edgeFieldCount;
    firstEdge[i + 1] = e;
  }
  return { raw, nodeFieldCount, edgeFieldCount, typeNames: nt[0], edgeTypeNames: et[0], f, count, firstEdge };
}

const field = (h: Heap, node: number, offset: number) => h.raw.nodes[node * h.nodeFieldCount + offset]!;

/** A group: node type, and for objects and closures the constructor or function name (strings are one group). */
function groupOf(h: Heap, node: number): string {
  const type = h.typeNames[field(h, node, h.f.type)] ?? '?';
  if (type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'number' || type === 'bigint') return `(${type})`;
  const name = h.raw.strings[field(h, node, h.f.name)] ?? '';
  // Native and code names carry addresses or sources: keep their head only, so they group.
  return `${type}:${name.length > 60 ? `${name.slice(0, 60)}…` : name}`;
}

interface Group {
  count: number;
  size: number;
  /** Some nodes of the group, for retainer chains. */
  sample: number[];
}

function aggregate(h: Heap, only?: (node: number) => boolean): Map<string, Group> {
  const groups = new Map<string, Group>();
  for (let n = 0; n < h.count; n++) {
    if (only && !only(n)) continue;
    const key = groupOf(h, n);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { count: 0, size: 0, sample: [] }));
    g.count++;
    g.size += field(h, n, h.f.selfSize);
    // Spread over the group rather than its first few: later allocations are the likelier leak.
    if (g.sample.length < 50 && g.count % 7 === 1) g.sample.push(n);
  }
  return groups;
}

/** For each node, one retainer (skipping weak edges), to walk chains back towards the roots. */
function retainers(h: Heap): Int32Array {
  const by = new Int32Array(h.count).fill(-1);
  const weak = h.edgeTypeNames.indexOf('weak');
  for (let n = 0; n < h.count; n++) {
    for (let e = h.firstEdge[n]!; e < h.firstEdge[n + 1]!; e += h.edgeFieldCount) {
      if (h.raw.edges[e + h.f.edgeType] === weak) continue;
      const to = h.raw.edges[e + h.f.toNode]! / h.nodeFieldCount;
      if (by[to] === -1) by[to] = n;
    }
  }
  return by;
}

function edgeName(h: Heap, from: number, to: number): string {
  for (let e = h.firstEdge[from]!; e < h.firstEdge[from + 1]!; e += h.edgeFieldCount) {
    if (h.raw.edges[e + h.f.toNode]! / h.nodeFieldCount !== to) continue;
    const type = h.edgeTypeNames[h.raw.edges[e + h.f.edgeType]!];
    const nameOrIndex = h.raw.edges[e + h.f.edgeName]!;
    return type === 'element' || type === 'hidden' ? `[${nameOrIndex}]` : `.${h.raw.strings[nameOrIndex] ?? nameOrIndex}`;
  }
  return '?';
}

function chain(h: Heap, by: Int32Array, node: number, depth: number): string {
  const parts = [groupOf(h, node)];
  const seen = new Set([node]);
  for (let n = node, i = 0; i < depth; i++) {
    const up = by[n]!;
    if (up < 0 || seen.has(up)) break;
    parts.push(`${groupOf(h, up)}${edgeName(h, up, n)}`);
    seen.add(up);
    n = up;
  }
  return parts.join(' ← ');
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const signed = (v: number, show: (v: number) => string) => `${v >= 0 ? '+' : '−'}${show(Math.abs(v))}`;

function main(): void {
  const usage = 'usage: node --max-old-space-size=8192 --import tsx bench/churn/heap-diff.ts A.heapsnapshot B.heapsnapshot [--top 25] [--one-process [--paths 3] [--depth 12]]';
  const { values, positionals } = benchArgs({ 'one-process': { type: 'boolean', default: false }, top: { type: 'string', default: '25' }, paths: { type: 'string', default: '3' }, depth: { type: 'string', default: '12' } }, usage);
  if (positionals.length !== 2) {
    process.stderr.write(`${usage}\n`);
    process.exit(2);
  }
  const top = positiveInt('top', values.top);
  const paths = positiveInt('paths', values.paths);
  const depth = positiveInt('depth', values.depth);
  const [fileA, fileB] = positionals as [string, string];
  const a = load(fileA);
  const idsA = new Set<number>();
  for (let n = 0; n < a.count; n++) idsA.add(field(a, n, a.f.id));
  const groupsA = aggregate(a);
  const totalA = [...groupsA.values()].reduce((s, g) => s + g.size, 0);
  a.raw = { ...a.raw, nodes: [], edges: [], strings: [] };
  const b = load(fileB);
  const groupsB = aggregate(b);
  const totalB = [...groupsB.values()].reduce((s, g) => s + g.size, 0);
  const out = (line = '') => process.stdout.write(`${line}\n`);

  out(`A ${fileA} (${(statSync(fileA).size / 1e6).toFixed(0)} MB file): ${a.count} nodes, ${kb(totalA)} self size`);
  out(`B ${fileB} (${(statSync(fileB).size / 1e6).toFixed(0)} MB file): ${b.count} nodes, ${kb(totalB)} self size`);
  out(`B − A: ${signed(b.count - a.count, String)} nodes, ${signed(totalB - totalA, kb)}`);

  out(`\ncount and self size, B − A, by group (top ${top} by growth, then the ${Math.ceil(top / 5)} that shrank most):`);
  const keys = new Set([...groupsA.keys(), ...groupsB.keys()]);
  const diffs = [...keys]
    .map((key) => {
      const x = groupsA.get(key) ?? { count: 0, size: 0 };
      const y = groupsB.get(key) ?? { count: 0, size: 0 };
      return { key, count: y.count - x.count, size: y.size - x.size, sizeB: y.size };
    })
    .sort((x, y) => y.size - x.size);
  const row = (d: (typeof diffs)[number]) => out(`  ${signed(d.size, kb).padStart(12)}  ${signed(d.count, String).padStart(8)}  ${d.key} (${kb(d.sizeB)} in B)`);
  diffs.slice(0, top).forEach(row);
  out('  …');
  diffs.slice(-Math.ceil(top / 5)).forEach(row);
  if (!values['one-process']) return;

  const added = aggregate(b, (n) => !idsA.has(field(b, n, b.f.id)));
  const addedTotal = [...added.values()].reduce((s, g) => ({ count: s.count + g.count, size: s.size + g.size }), { count: 0, size: 0 });
  out(`\nin B and not in A (allocated between the two, still alive): ${addedTotal.count} nodes, ${kb(addedTotal.size)}; by group (top ${top} by self size):`);
  const newTop = [...added].sort((x, y) => y[1].size - x[1].size).slice(0, top);
  for (const [key, g] of newTop) out(`  ${kb(g.size).padStart(12)}  ${String(g.count).padStart(8)}  ${key}`);

  out(`\nretainer chains of new objects in the top groups (the object first, then what holds it):`);
  const by = retainers(b);
  for (const [key, g] of newTop.slice(0, 8)) {
    out(`  ${key}:`);
    const step = Math.max(1, Math.floor(g.sample.length / paths));
    for (let i = 0; i < g.sample.length && i < paths * step; i += step) out(`    ${chain(b, by, g.sample[i]!, depth)}`);
  }
}

main();

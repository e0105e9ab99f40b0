import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { emptyState, type SandboxState } from './types.js';

/**
 * The emulator's memory, one JSON file. Writes are synchronous and atomic (write a temp file,
 * rename over the old one), so a crash mid-write leaves the previous state intact and two
 * handlers can never interleave a half-written file.
 */
export class StateStore {
  readonly file: string;
  state: SandboxState;
  private writes = 0;

  constructor(readonly dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.file = join(dataDir, 'state.json');
    this.state = this.load();
  }

  private load(): SandboxState {
    if (!existsSync(this.file)) return emptyState();
    const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as Partial<SandboxState>;
    if (parsed.version !== 1) {
      throw new Error(`${this.file} has state version ${String(parsed.version)}, expected 1: delete the file or reset the sandbox`);
    }
    return { ...emptyState(), ...parsed };
  }

  /** Next id from one sequence shared by every kind of record, like GitHub's database ids. */
  nextId(): number {
    this.state.nextId += 1;
    return this.state.nextId;
  }

  save(): void {
    this.writes += 1;
    const tmp = `${this.file}.${process.pid}.${this.writes}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.state, null, 1));
    renameSync(tmp, this.file);
  }

  reset(): void {
    this.state = emptyState();
    this.save();
  }
}

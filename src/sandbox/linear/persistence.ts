import { mkdirSync, readFileSync } from 'node:fs';
import { rename, writeFile, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { LinearData } from './types.js';

// The emulator's data file: loaded once at start, saved shortly after each change. A save
// writes a temporary file beside the target and renames it over the target, so a crash mid-save
// leaves the previous file whole, never half of a new one.

export function loadDataFile(path: string): LinearData | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`Cannot read the Linear emulator data file ${path}: ${(error as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new Error(`The Linear emulator data file ${path} is not valid JSON: fix it, or delete it to start empty.`);
  }
  const candidate = data as Partial<LinearData> | null;
  if (!candidate || candidate.version !== 1 || !Array.isArray(candidate.issues) || !candidate.organization) {
    throw new Error(`The Linear emulator data file ${path} is not in the expected format (version 1): delete it to start empty.`);
  }
  return candidate as LinearData;
}

export class DataFileWriter {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private sequence = 0;

  constructor(
    private readonly path: string,
    private readonly snapshot: () => LinearData,
    private readonly logger: Logger,
    private readonly debounceMs = 50,
  ) {
    mkdirSync(dirname(path), { recursive: true });
  }

  /** Saves soon; a burst of changes becomes one write. */
  schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.enqueue();
    }, this.debounceMs);
    this.timer.unref();
  }

  /** Saves now if a save is pending, and waits for every save so far. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      await this.enqueue();
    }
    await this.writing;
  }

  private enqueue(): Promise<void> {
    // Saves run one after another, each with the state at its own start, so the last one wins.
    this.writing = this.writing.then(() => this.write());
    return this.writing;
  }

  private async write(): Promise<void> {
    this.sequence += 1;
    const temp = `${this.path}.${process.pid}.${this.sequence}.tmp`;
    try {
      await writeFile(temp, JSON.stringify(this.snapshot(), null, 2), 'utf8');
      await rename(temp, this.path);
    } catch (error) {
      this.logger.error({ err: error, path: this.path }, 'linear emulator: could not save the data file; state lives on in memory');
      await unlink(temp).catch(() => undefined);
    }
  }
}

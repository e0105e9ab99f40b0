// The one reader of /proc/<pid>/stat that the reaper, the leftover-agent sweep, the agent records
// and `conveyor dev`'s record share: against real processes, including one whose command name
// holds ") (" (a name is the process's to choose, so a parser that splits at the first ")" would
// read another process's parent or group and kill the wrong one) and a zombie, which answers
// signal 0 like a live process.
import { spawn, type ChildProcess } from 'node:child_process';
import { getPriority } from 'node:os';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { isSameProcess, processStartTime } from '../../src/integrations/agent-records.js';
import { hasExited, parseProcStat, readProcStat, readProcStatSync } from '../../src/integrations/proc-stat.js';
import { isRunning } from '../../src/integrations/process-tree.js';

const children: ChildProcess[] = [];
afterEach(() => {
  // Each shell leads a process group of its own: the group goes, its sleeps with it.
  for (const child of children.splice(0)) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
});

/** A shell that runs `script` and prints lines; resolves with the first `count` of them. */
async function shell(script: string, count: number): Promise<{ child: ChildProcess; lines: string[] }> {
  const child = spawn('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  children.push(child);
  const lines: string[] = [];
  for await (const line of createInterface({ input: child.stdout! })) {
    lines.push(line);
    if (lines.length === count) break;
  }
  return { child, lines };
}

describe('reading /proc/<pid>/stat', () => {
  it('counts the fields from the last parenthesis, whatever the command name holds', () => {
    const line = '14733 (a) S 9 (b)) R 14731 14700 4234 0 -1 4194304 101 0 0 0 7 3 12 5 30 10 1 0 65094 3133440 382 18446744073709551615';
    expect(parseProcStat(line)).toEqual({ state: 'R', ppid: 14731, pgid: 14700, utime: 7, stime: 3, cutime: 12, cstime: 5, nice: 10, startTicks: '65094' });
    expect(parseProcStat('not a stat line')).toBeNull();
    expect(parseProcStat('1 (init) S 0')).toBeNull();
  });

  it('reads a live process whose name is made to look like more fields', async () => {
    // The shell renames itself, then waits on a child: its own stat line carries the new name.
    const { child, lines } = await shell('printf "%s" "x) Z 1 1 (y" > /proc/self/comm; echo $$; sleep 60', 1);
    const pid = Number(lines[0]);
    expect(pid).toBe(child.pid);
    const stat = await readProcStat(pid);
    expect(stat).not.toBeNull();
    expect(stat!.ppid).toBe(process.pid);
    expect(hasExited(stat!)).toBe(false);
    expect(stat!.startTicks).toMatch(/^\d+$/);
    expect(await isRunning(pid)).toBe(true);
    expect(await processStartTime(pid)).toBe(stat!.startTicks);
    expect(await isSameProcess({ pid, startTime: stat!.startTicks })).toBe(true);
    // The same pid with another start time is another process (the pid was reused).
    expect(await isSameProcess({ pid, startTime: String(Number(stat!.startTicks) + 1) })).toBe(false);
  });

  it('tells a zombie from a live process, though both answer signal 0', async () => {
    // `sleep 0` exits at once; its parent then becomes `sleep 60`, which never reaps it.
    const { lines } = await shell('sleep 0 & echo $!; exec sleep 60', 1);
    const zombie = Number(lines[0]);
    let stat = await readProcStat(zombie);
    for (let i = 0; i < 100 && stat?.state !== 'Z'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      stat = await readProcStat(zombie);
    }
    expect(stat?.state).toBe('Z');
    expect(() => process.kill(zombie, 0)).not.toThrow();
    expect(await isRunning(zombie)).toBe(false);
    expect(await isSameProcess({ pid: zombie, startTime: null })).toBe(false);
  });

  it("reads this process's CPU time and nice value, synchronously as the benches sample them", () => {
    let spin = 0;
    for (let i = 0; i < 5e7; i++) spin += i; // at least a few ticks of CPU
    const stat = readProcStatSync('self');
    expect(spin).toBeGreaterThan(0);
    expect(stat!.utime + stat!.stime).toBeGreaterThan(0);
    expect(stat!.nice).toBe(getPriority());
    expect(readProcStatSync(2 ** 22 + 1)).toBeNull(); // above the kernel's largest pid
  });

  it('answers null for a process that is gone', async () => {
    const { child, lines } = await shell('echo $$; exec sleep 60', 1);
    const pid = Number(lines[0]);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    expect(await readProcStat(pid)).toBeNull();
    expect(await isRunning(pid)).toBe(false);
    expect(await processStartTime(pid)).toBeNull();
  });
});

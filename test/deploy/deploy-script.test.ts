// scripts/deploy.sh into a local target that already holds an installation: its instance/ and
// its .data/ survive byte for byte, files the release no longer has are deleted, production
// dependencies are installed (no dev ones), and the deployed tree runs the CLI from its build.
// The restart step is skipped (no systemd in a test). A second deploy with --canary whose canary
// fails exits 1 and names the release it replaced, kept whole for a rollback. --install-units
// writes the systemd units for the target, without the worker's jemalloc preload on a host that
// lacks the library.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/conveyor-root.js';
import { libraryPath } from '../helpers/shared-libraries.js';

const run = promisify(execFile);
const headCommit = async () => (await run('git', ['-C', REPO_ROOT, 'rev-parse', 'HEAD'])).stdout.trim();
const target = mkdtempSync(join(tmpdir(), 'conveyor-deploy-'));

afterAll(() => rmSync(target, { recursive: true, force: true }));

function put(path: string, content: string): void {
  mkdirSync(join(target, path, '..'), { recursive: true });
  writeFileSync(join(target, path), content);
}

describe('scripts/deploy.sh', () => {
  it('replaces the release but never touches instance/ or .data/', async () => {
    const factory = readFileSync(join(REPO_ROOT, 'instance.example/factory.yaml'), 'utf8').replace('slots: 3', 'slots: 4');
    put('instance/factory.yaml', factory);
    put('instance/notes.txt', 'operator notes\n');
    put('.data/temporal/dev.sqlite', 'not really sqlite, but kept');
    put('.data/workspaces/logs/ENG-1-1.log', 'an agent log\n');
    // An earlier release's leftovers.
    put('dist/removed-module.js', 'export {};\n');
    put('old-script.sh', 'echo stale\n');
    put('src/cli/main.ts', '// a source tree that must not be deployed\n');

    const { stdout } = await run('bash', [join(REPO_ROOT, 'scripts/deploy.sh'), target], { cwd: REPO_ROOT, env: { ...process.env, CONVEYOR_DEPLOY_NO_RESTART: '1' }, maxBuffer: 16 * 1024 * 1024 });
    expect(stdout).toContain('[deploy] building (npm run build)');
    expect(stdout).toContain(`[deploy] syncing to ${target}`);
    expect(stdout).toContain('[deploy] restart skipped');

    // The installation survives.
    expect(readFileSync(join(target, 'instance/factory.yaml'), 'utf8')).toBe(factory);
    expect(readFileSync(join(target, 'instance/notes.txt'), 'utf8')).toBe('operator notes\n');
    expect(readFileSync(join(target, '.data/temporal/dev.sqlite'), 'utf8')).toBe('not really sqlite, but kept');
    expect(readFileSync(join(target, '.data/workspaces/logs/ENG-1-1.log'), 'utf8')).toBe('an agent log\n');
    // Stale files go; the release is there.
    for (const stale of ['dist/removed-module.js', 'old-script.sh', 'src']) expect(existsSync(join(target, stale)), stale).toBe(false);
    for (const shipped of ['dist/cli/main.js', 'dist/workflow-bundle.js', 'bin/conveyor.js', 'temporal.yaml', 'deploy/systemd/conveyor-worker.service', 'deploy/systemd/conveyor-gateway.service', 'scripts/demo-agent.mjs']) {
      expect(existsSync(join(target, shipped)), shipped).toBe(true);
    }
    // Production dependencies only.
    expect(existsSync(join(target, 'node_modules/@temporalio/worker/package.json'))).toBe(true);
    expect(existsSync(join(target, 'node_modules/vitest'))).toBe(false);
    expect(existsSync(join(target, 'node_modules/tsx'))).toBe(false);

    // The deployed tree runs from its build, with the installation's own configuration.
    const doctor = await run(process.execPath, [join(target, 'bin/conveyor.js'), 'doctor', '--json', '--profile', 'runtime', '--root', target], { env: { PATH: process.env.PATH } }).catch((err: { stdout: string }) => err);
    const report = JSON.parse(doctor.stdout) as { checks: Array<{ name: string; status: string; detail: string }> };
    expect(report.checks[0]).toMatchObject({ name: 'configuration', status: 'ok', detail: expect.stringContaining(join(target, 'instance/factory.yaml')) });
    // The release says what it is, for the next deploy's rollback note.
    expect(readFileSync(join(target, 'RELEASE'), 'utf8')).toMatch(new RegExp(`^commit=${await headCommit()}`));
  }, 600_000);

  it('with --canary, a failing canary stops the deploy with exit 1 and names the release to roll back to, kept whole', async () => {
    const previous = readFileSync(join(target, 'RELEASE'), 'utf8');
    // No tracker credentials: the canary cannot file its issue, as on a host whose secrets went missing.
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, CONVEYOR_DEPLOY_NO_RESTART: '1', CONVEYOR_ENV_FILE: join(target, 'no-such.env'), CONVEYOR_CANARY_ARGS: '--timeout 30s' };
    const failed = await run('bash', [join(REPO_ROOT, 'scripts/deploy.sh'), target, '--no-build', '--no-install', '--canary'], { cwd: REPO_ROOT, env, maxBuffer: 16 * 1024 * 1024 }).then(
      () => null,
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    expect(failed, 'the deploy should fail with the canary').not.toBeNull();
    expect(failed!.code).toBe(1);
    expect(failed!.stdout).toContain('[deploy] running the canary: conveyor canary --timeout 30s');
    expect(failed!.stderr).toMatch(/conveyor: LINEAR_API_KEY is not set/);
    expect(failed!.stdout).toMatch(/\[deploy\] CANARY FAILED: release \S+/);
    const commit = /^commit=(.*)$/m.exec(previous)![1]!;
    expect(failed!.stdout).toContain(`[deploy] roll back to the previous release, commit ${commit}, kept in ${target}/.data/releases/previous:`);
    expect(failed!.stdout).toContain(`${target}/.data/releases/previous/ ${target}/ && (cd ${target} && npm ci --omit=dev) && systemctl restart conveyor-worker conveyor-gateway`);
    // The release it replaced is there whole, without the installation's own files.
    expect(readFileSync(join(target, '.data/releases/previous/RELEASE'), 'utf8')).toBe(previous);
    for (const kept of ['dist/cli/main.js', 'bin/conveyor.js', 'package-lock.json']) expect(existsSync(join(target, '.data/releases/previous', kept)), kept).toBe(true);
    for (const mine of ['instance', '.data', 'node_modules']) expect(existsSync(join(target, '.data/releases/previous', mine)), mine).toBe(false);
  }, 600_000);

  describe('--install-units', () => {
    // No systemd in a test: the units go to a folder of the test's, and `systemctl` is a script
    // on PATH that records its arguments. `ldconfig` is the machine's own, or one that lists no
    // library, as on a host without libjemalloc2.
    const bin = mkdtempSync(join(tmpdir(), 'conveyor-deploy-bin-'));
    const calls = join(bin, 'systemctl.calls');
    writeFileSync(join(bin, 'systemctl'), `#!/bin/sh\necho "$@" >> ${calls}\n`, { mode: 0o755 });
    const noLibraries = mkdtempSync(join(tmpdir(), 'conveyor-deploy-noldconfig-'));
    writeFileSync(join(noLibraries, 'ldconfig'), '#!/bin/sh\necho "0 libs found in cache"\n', { mode: 0o755 });
    afterAll(() => {
      rmSync(bin, { recursive: true, force: true });
      rmSync(noLibraries, { recursive: true, force: true });
    });
    const jemallocInstalled = libraryPath('libjemalloc.so.2') !== null;

    async function installUnits(path: string): Promise<{ stdout: string; worker: string; gateway: string }> {
      const units = mkdtempSync(join(tmpdir(), 'conveyor-deploy-units-'));
      try {
        const env = { PATH: path, HOME: process.env.HOME, CONVEYOR_SYSTEMD_DIR: units };
        const { stdout } = await run('bash', [join(REPO_ROOT, 'scripts/deploy.sh'), target, '--no-build', '--no-install', '--no-restart', '--install-units'], { cwd: REPO_ROOT, env, maxBuffer: 16 * 1024 * 1024 });
        return { stdout, worker: readFileSync(join(units, 'conveyor-worker.service'), 'utf8'), gateway: readFileSync(join(units, 'conveyor-gateway.service'), 'utf8') };
      } finally {
        rmSync(units, { recursive: true, force: true });
      }
    }

    it('writes both units for TARGET, enables them, and keeps the jemalloc preload where the library is installed', async () => {
      const { stdout, worker, gateway } = await installUnits(`${bin}:${process.env.PATH}`);
      expect(worker).toContain(`WorkingDirectory=${target}\n`);
      expect(gateway).toContain(`WorkingDirectory=${target}\n`);
      expect(worker).not.toContain('/opt/conveyor');
      expect(readFileSync(calls, 'utf8').split('\n')).toEqual(expect.arrayContaining(['daemon-reload', 'enable conveyor-worker.service conveyor-gateway.service']));
      expect(worker).toContain('Environment=MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072\n');
      if (jemallocInstalled) {
        expect(worker).toContain('\nEnvironment=LD_PRELOAD=libjemalloc.so.2 MALLOC_CONF=background_thread:true\n');
        expect(stdout).not.toContain('libjemalloc.so.2 is not installed');
      } else {
        expect(worker).not.toMatch(/^Environment=LD_PRELOAD=/m);
      }
    }, 120_000);

    it('leaves the preload out, and says how to get it, where libjemalloc.so.2 is not installed', async () => {
      const { stdout, worker } = await installUnits(`${noLibraries}:${bin}:${process.env.PATH}`);
      expect(stdout).toContain("[deploy] libjemalloc.so.2 is not installed: conveyor-worker runs on glibc's malloc, whose memory creeps up over many runs; apt-get install libjemalloc2, then deploy again with --install-units");
      expect(worker).not.toMatch(/^Environment=LD_PRELOAD=/m);
      // The rest of the unit is intact: glibc's settings, the start command.
      expect(worker).toContain('Environment=MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072\n');
      expect(worker).toContain('ExecStart=/usr/bin/env node bin/conveyor.js worker\n');
    }, 120_000);
  });
});

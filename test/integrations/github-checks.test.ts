// CI on one SHA folded into the merge gate's verdict, without GitHub: what branch protection
// would let through is green, anything not finished is pending, and a commit with no checks at
// all is never green by default. Shapes are those of GitHub's check runs and commit statuses.
import { describe, expect, it } from 'vitest';
import { foldChecks, type CheckRunInput, type StatusInput } from '../../src/integrations/github/checks.js';

const SHA = 'c0ffee1234567890c0ffee1234567890c0ffee12';

let nextId = 1;
function run(name: string, status: string, conclusion: string | null, output: Partial<CheckRunInput['output']> = {}, id = nextId++): CheckRunInput {
  return { id, name, status, conclusion, output: { title: null, summary: null, ...output } };
}
function status(context: string, state: string, description: string | null = null, id = nextId++): StatusInput {
  return { id, context, state, description };
}

describe('a commit with nothing reported', () => {
  it('is pending, not green: CI may not have registered its checks yet', () => {
    expect(foldChecks(SHA, null, [], [])).toEqual({ sha: SHA, state: 'pending', failures: [] });
    expect(foldChecks(SHA, [], [], [])).toEqual({ sha: SHA, state: 'pending', failures: [] });
  });

  it('is pending while a required check has not reported, even if every other check passed', () => {
    expect(foldChecks(SHA, ['build'], [run('lint', 'completed', 'success')], [status('coverage', 'success')])).toEqual({ sha: SHA, state: 'pending', failures: [] });
  });
});

describe('a required check still running', () => {
  for (const state of ['queued', 'in_progress', 'waiting', 'requested', 'pending']) {
    it(`counts as pending when it is ${state}, never as green`, () => {
      const runs = [run('build', state, null), run('lint', 'completed', 'success')];
      expect(foldChecks(SHA, ['build', 'lint'], runs, []).state).toBe('pending');
      expect(foldChecks(SHA, null, runs, []).state).toBe('pending');
    });
  }

  it('counts as pending when it is a commit status still pending', () => {
    expect(foldChecks(SHA, ['ci/jenkins'], [], [status('ci/jenkins', 'pending', 'Build queued')])).toEqual({ sha: SHA, state: 'pending', failures: [] });
  });

  it('does not hide a failure elsewhere: one failed and one pending is a failure', () => {
    const runs = [run('build', 'in_progress', null), run('test', 'completed', 'failure', { title: '3 tests failed' })];
    expect(foldChecks(SHA, null, runs, [])).toEqual({ sha: SHA, state: 'failure', failures: [{ name: 'test', summary: '3 tests failed' }] });
  });
});

describe('finished checks', () => {
  it('are green when every one concluded success, neutral or skipped', () => {
    const runs = [run('build', 'completed', 'success'), run('docs', 'completed', 'neutral'), run('deploy-preview', 'completed', 'skipped')];
    expect(foldChecks(SHA, null, runs, [status('ci/legacy', 'success')])).toEqual({ sha: SHA, state: 'success', failures: [] });
  });

  for (const conclusion of ['neutral', 'skipped']) {
    it(`treat a required check that concluded ${conclusion} as passing`, () => {
      expect(foldChecks(SHA, ['only'], [run('only', 'completed', conclusion)], []).state).toBe('success');
    });
  }

  for (const conclusion of ['failure', 'cancelled', 'timed_out', 'action_required', 'stale']) {
    it(`treat a check that concluded ${conclusion} as failed, named with its conclusion when it has no output`, () => {
      expect(foldChecks(SHA, null, [run('build', 'completed', conclusion)], [])).toEqual({ sha: SHA, state: 'failure', failures: [{ name: 'build', summary: `concluded ${conclusion}` }] });
    });
  }

  it('say so when a completed check has no conclusion at all', () => {
    expect(foldChecks(SHA, null, [run('build', 'completed', null)], []).failures).toEqual([{ name: 'build', summary: 'concluded without a conclusion' }]);
  });

  it("give a failed check's title and summary as its feedback, one per line, leaving out what is missing", () => {
    const runs = [
      run('both', 'completed', 'failure', { title: 'Lint failed', summary: '2 errors in src/a.ts' }),
      run('title-only', 'completed', 'failure', { title: 'Build broke' }),
      run('summary-only', 'completed', 'failure', { summary: 'exit code 2' }),
      run('empty', 'completed', 'failure', { title: '', summary: '' }),
    ];
    expect(foldChecks(SHA, null, runs, []).failures).toEqual([
      { name: 'both', summary: 'Lint failed\n2 errors in src/a.ts' },
      { name: 'title-only', summary: 'Build broke' },
      { name: 'summary-only', summary: 'exit code 2' },
      { name: 'empty', summary: 'concluded failure' },
    ]);
  });

  it("give a failed commit status's description, or its state when it has none", () => {
    const statuses = [status('ci/jenkins', 'failure', 'Tests failed on node 20'), status('ci/travis', 'error')];
    expect(foldChecks(SHA, null, [], statuses)).toEqual({
      sha: SHA,
      state: 'failure',
      failures: [
        { name: 'ci/jenkins', summary: 'Tests failed on node 20' },
        { name: 'ci/travis', summary: 'status error' },
      ],
    });
  });
});

describe('which checks count', () => {
  it('only the required ones when some are required: a failing optional check does not block the merge', () => {
    const runs = [run('build', 'completed', 'success'), run('flaky-e2e', 'completed', 'failure', { title: 'timeout' })];
    expect(foldChecks(SHA, ['build'], runs, [status('ci/optional', 'failure', 'nope')])).toEqual({ sha: SHA, state: 'success', failures: [] });
  });

  it('every reported one when none are required', () => {
    const runs = [run('build', 'completed', 'success'), run('flaky-e2e', 'completed', 'failure', { title: 'timeout' })];
    expect(foldChecks(SHA, null, runs, [])).toEqual({ sha: SHA, state: 'failure', failures: [{ name: 'flaky-e2e', summary: 'timeout' }] });
    expect(foldChecks(SHA, [], runs, []).state).toBe('failure');
  });

  it('a required name reported both as a check run and as a commit status: both must pass', () => {
    expect(foldChecks(SHA, ['ci'], [run('ci', 'completed', 'success')], [status('ci', 'failure', 'red')]).failures).toEqual([{ name: 'ci', summary: 'red' }]);
    expect(foldChecks(SHA, ['ci'], [run('ci', 'completed', 'success')], [status('ci', 'pending')]).state).toBe('pending');
    expect(foldChecks(SHA, ['ci'], [run('ci', 'completed', 'success')], [status('ci', 'success')]).state).toBe('success');
  });
});

describe('re-runs', () => {
  it('the latest check run of a name stands, whatever order GitHub lists them in', () => {
    const failedFirst = run('build', 'completed', 'failure', { title: 'flake' }, 10);
    const passedLater = run('build', 'completed', 'success', {}, 11);
    expect(foldChecks(SHA, null, [failedFirst, passedLater], []).state).toBe('success');
    expect(foldChecks(SHA, null, [passedLater, failedFirst], []).state).toBe('success');
  });

  it('a re-run still going makes a passed check pending again', () => {
    const passed = run('build', 'completed', 'success', {}, 20);
    const rerun = run('build', 'queued', null, {}, 21);
    expect(foldChecks(SHA, null, [rerun, passed], []).state).toBe('pending');
    expect(foldChecks(SHA, null, [passed, rerun], []).state).toBe('pending');
  });

  it('the latest commit status of a context stands, whatever order it is listed in', () => {
    const red = status('ci/jenkins', 'failure', 'red', 30);
    const green = status('ci/jenkins', 'success', null, 31);
    expect(foldChecks(SHA, null, [], [red, green]).state).toBe('success');
    expect(foldChecks(SHA, null, [], [green, red]).state).toBe('success');
    const redAgain = status('ci/jenkins', 'failure', 'red again', 32);
    expect(foldChecks(SHA, null, [], [redAgain, green, red]).failures).toEqual([{ name: 'ci/jenkins', summary: 'red again' }]);
  });
});

// What the Web UI shows of a run before anyone opens it: the summary and details made from what
// the starter knew of the issue. Pure functions, no Temporal.
import { describe, expect, it } from 'vitest';
import { fleetRunMetadata, issueRunMetadata, repoWebUrl } from '../../src/temporal/run-metadata.js';

describe('issue run metadata', () => {
  it('summarises key and title, and links the issue and the repo in the details', () => {
    const metadata = issueRunMetadata({
      id: 'a1b2',
      key: 'DEMO-1',
      title: 'Add a greeting section to the README',
      url: 'https://linear.app/acme/issue/DEMO-1/add-a-greeting',
      repo: { name: 'demo/widgets', url: 'https://github.com/demo/widgets' },
    });
    expect(metadata.staticSummary).toBe('DEMO-1 · Add a greeting section to the README');
    expect(metadata.staticDetails).toContain('**Issue:** [DEMO-1 Add a greeting section to the README](https://linear.app/acme/issue/DEMO-1/add-a-greeting)');
    expect(metadata.staticDetails).toContain('**Repo:** [demo/widgets](https://github.com/demo/widgets)');
    expect(metadata.staticDetails).toContain('`a1b2`');
  });

  it('falls back to the key, then to the stable id, and leaves the repo out when unknown', () => {
    expect(issueRunMetadata({ id: 'a1b2', key: 'ENG-7' }).staticSummary).toBe('ENG-7');
    const bare = issueRunMetadata({ id: 'a1b2' });
    expect(bare.staticSummary).toBe('issue a1b2');
    expect(bare.staticDetails).not.toContain('Repo');
  });

  it('keeps the summary on one short line, and a title cannot inject markdown or a script link', () => {
    const metadata = issueRunMetadata({ id: 'x', key: 'ENG-1', title: `Fix [this](javascript:alert(1))\nand ${'long '.repeat(100)}`, url: 'javascript:alert(1)' });
    expect(metadata.staticSummary).not.toContain('\n');
    expect(metadata.staticSummary.length).toBeLessThanOrEqual(200);
    expect(metadata.staticSummary.endsWith('…')).toBe(true);
    expect(metadata.staticDetails).toContain('Fix \\[this\\]\\(javascript:alert\\(1\\)\\)');
    // Not an http(s) URL: shown as text, not linked.
    expect(metadata.staticDetails).not.toContain('](javascript:');
  });

  it('names the fleet and its task queue', () => {
    const metadata = fleetRunMetadata('conveyor');
    expect(metadata.staticSummary).toBe('Conveyor fleet: leases and queue');
    expect(metadata.staticDetails).toContain('`conveyor`');
  });
});

describe('repoWebUrl', () => {
  it('is github.com unless the forge API names another server, whose /api/v3 is dropped', () => {
    expect(repoWebUrl('demo/widgets')).toBe('https://github.com/demo/widgets');
    expect(repoWebUrl('demo/widgets', 'https://api.github.com')).toBe('https://github.com/demo/widgets');
    expect(repoWebUrl('demo/widgets', 'https://ghe.example.com/api/v3')).toBe('https://ghe.example.com/demo/widgets');
    expect(repoWebUrl('demo/widgets', 'http://127.0.0.1:8789/api/v3/')).toBe('http://127.0.0.1:8789/demo/widgets');
  });
});

// The Web UI as an operator uses it: the demo's well-specified issue runs through the whole line
// on the sandbox (gateway, emulators, demo agent, real git) to a merged PR, then Debian's
// Chromium, driven by playwright-core, opens the test dev server's Web UI, filters the runs by
// `ConveyorIssueKey` (with Conveyor's search attributes as list columns), opens the run, and
// must see its summary (issue key and title), the link to the issue, its phase and its PR. The page is saved as a screenshot whose path is printed.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { issueWorkflowId } from '../../src/domain/naming.js';
import { issueStateQuery } from '../../src/workflows/messages.js';
import { IssueKey, PhaseKey, PR } from '../../src/workflows/search-attributes.js';
import { REPO_ROOT } from '../helpers/conveyor-root.js';
import { startE2eFactory, type E2eFactory } from '../helpers/e2e-factory.js';
import { eventually } from '../helpers/temporal.js';

/** Debian's package, never a browser downloaded by playwright (.ci/run installs it with apt). */
const CHROMIUM = process.env.CONVEYOR_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = join(REPO_ROOT, '.data/artifacts');
const missingBrowser = existsSync(CHROMIUM) ? null : `${CHROMIUM} is missing: install it with \`apt-get install -y chromium\` (.ci/run does), or point CONVEYOR_CHROMIUM at a Chromium`;
if (missingBrowser) console.warn(`[webui] skipping the Web UI browser test: ${missingBrowser}`);

let factory: E2eFactory | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  if (missingBrowser) return;
  factory = await startE2eFactory('webui', { demo: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Chromium refuses its sandbox as root; CI runs as root.
    args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), '--disable-background-networking', '--disable-dev-shm-usage'],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await factory?.cleanup();
});

/** The text of the page and of every frame in it: the UI renders markdown user metadata in a sandboxed iframe. */
async function allText(page: Page): Promise<string> {
  const texts = await Promise.all(page.frames().map((frame) => frame.locator('body').innerText().catch(() => '')));
  return texts.join('\n');
}

/** Every link target on the page and in its frames. */
async function allLinks(page: Page): Promise<string[]> {
  const lists = await Promise.all(page.frames().map((frame) => frame.locator('a[href]').evaluateAll((as) => as.map((a) => a.getAttribute('href') ?? '')).catch(() => [] as string[])));
  return lists.flat();
}

describe.skipIf(missingBrowser !== null)('the Web UI shows an issue run', () => {
  it('finds the run by ConveyorIssueKey, and shows its summary, issue link, phase and PR', async () => {
    const { sandbox, client, config } = factory!;
    const greeting = sandbox.linear.state().data.issues.find((issue) => /greeting/.test(issue.title))!;
    const issue = sandbox.linear.getIssue(greeting.id)!;
    const workflowId = issueWorkflowId(issue.id);
    const state = await eventually('the greeting issue merged', async () => {
      const current = await client.workflow.getHandle(workflowId).query(issueStateQuery);
      return current.outcome === 'merged' && current;
    }, 120_000, 500);
    const pr = `${state.pr!.repo}#${state.pr!.number}`; // as ConveyorPR has it
    const summary = `${issue.key} · ${issue.title}`;

    // What the UI will render, straight from the server first: a failure here is ours, not the browser's.
    const description = await client.workflow.getHandle(workflowId).describe();
    expect(await description.staticSummary()).toBe(summary);

    const page = await browser!.newPage({ viewport: { width: 1920, height: 1000 } });
    page.setDefaultTimeout(30_000);
    const ui = inject('temporalUiUrl');
    const namespace = config.temporal.connection.namespace;

    // The list, filtered the way the README tells an engineer to. Other tests on this shared dev
    // server also run a DEMO-1, each with its own issue id: the row is told apart by workflow id.
    const query = `${IssueKey.name} = "${issue.key}"`;
    await page.goto(`${ui}/namespaces/${namespace}/workflows?query=${encodeURIComponent(query)}`);
    await expect.poll(() => allText(page), { timeout: 30_000 }).toContain(`${IssueKey.name} =`);
    const row = page.getByRole('link', { name: workflowId, exact: true }).first();
    await row.waitFor();
    // UI 2.42 has no summary column in the list; the operator guide says to add Conveyor's search
    // attributes as columns (kept per browser), so a row reads as issue, phase and PR.
    await page.getByTestId('workflows-summary-table-configuration-button').click();
    for (const column of [IssueKey.name, PhaseKey.name, PR.name]) await page.getByRole('button', { name: `Add ${column} column` }).click();
    for (const column of ['Run ID', 'Type']) await page.getByRole('button', { name: `Remove ${column} column` }).click();
    // The columns are kept in the browser's storage: a reload shows the list without the drawer.
    await page.reload();
    const listed = page.getByTestId('workflows-summary-configurable-table-row').filter({ has: page.getByRole('link', { name: workflowId, exact: true }) }).first();
    await expect.poll(() => listed.innerText(), { timeout: 30_000 }).toMatch(new RegExp(`${issue.key}[\\s\\S]*done:merged[\\s\\S]*${pr}`));
    mkdirSync(ARTIFACTS, { recursive: true });
    const listShot = join(ARTIFACTS, 'webui-list.png');
    await page.screenshot({ path: listShot });

    // The run: its summary and details (User Metadata), then its phase and PR (Search Attributes).
    await row.click();
    await page.waitForURL((url) => url.pathname.includes(`/workflows/${workflowId}`));
    await page.getByRole('link', { name: 'User Metadata' }).or(page.getByRole('tab', { name: 'User Metadata' })).first().click();
    await expect.poll(() => allText(page), { timeout: 30_000 }).toContain(summary);
    expect(await allLinks(page)).toContain(issue.url);
    const runShot = join(ARTIFACTS, 'webui-run.png');
    await page.screenshot({ path: runShot });

    // The PR is also in the details just shown: wait for the phase, which only the attributes
    // tab shows (under load the tab's content can lag the click), and click again if it does not come.
    const attributesTab = page.getByRole('link', { name: 'Search Attributes' }).or(page.getByRole('tab', { name: 'Search Attributes' })).first();
    await expect
      .poll(async () => {
        const text = await allText(page);
        if (!text.includes('done:merged')) await attributesTab.click();
        return text;
      }, { timeout: 30_000 })
      .toContain('done:merged');
    expect(await allText(page)).toContain(pr);
    const attributesShot = join(ARTIFACTS, 'webui-search-attributes.png');
    await page.screenshot({ path: attributesShot });
    console.log(`[webui] screenshots: ${runShot} (summary and details), ${attributesShot} (phase and PR ${pr}), ${listShot} (filtered list)`);
    await page.close();
  }, 180_000);
});

// What an engineer sees of a run in the Web UI beyond its static summary: its current details
// (the issue, where the run stands, what it waits for), kept current at every station, and a
// summary on the activities that matter (who ran the agent where, which PR was read or merged).
import { afterAll, describe, expect, it } from 'vitest';
import { issueWorkflowId } from '../../src/domain/naming.js';
import { createLine, withLine } from '../helpers/line-harness.js';
import { makeIssue } from '../helpers/scripted-line.js';
import { closeTestConnections } from '../helpers/temporal.js';

afterAll(closeTestConnections);

/** The summaries the run's scheduled activities carry, by activity type. */
async function activitySummaries(line: Awaited<ReturnType<typeof createLine>>, workflowId: string): Promise<Array<[string, string]>> {
  const events = (await line.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  return events.flatMap((e) => {
    const scheduled = e.activityTaskScheduledEventAttributes;
    const data = e.userMetadata?.summary?.data;
    return scheduled && data ? [[scheduled.activityType?.name ?? '', JSON.parse(Buffer.from(data).toString()) as string] as [string, string]] : [];
  });
}

describe('the run in the Web UI', () => {
  it('keeps its current details and names its activities', async () => {
    const line = await createLine({ name: 'web-ui-details' });
    line.world.ciFor = (sha) => ({ sha, state: 'pending', failures: [] });
    const issue = line.world.addIssue(makeIssue({ title: 'Add a *health* endpoint' }));
    const workflowId = issueWorkflowId(issue.id);
    await withLine(line, async () => {
      await line.start(issue);
      await line.until('the merge gate', async () => (await line.state(issue)).phase === 'merge-gate');
      // The gate reads the PR, then waits for CI: the details show the wait's deadline once it waits.
      const metadata = await line.until('the gate waiting for CI', async () => {
        const current = await line.client.workflow.getHandle(workflowId).query<{ currentDetails?: string }>('__temporal_workflow_metadata');
        return current.currentDetails?.includes('**CI times out** at') && current;
      });
      expect(metadata.currentDetails).toContain(`[${issue.key} · Add a \\*health\\* endpoint](${issue.url})`);
      expect(metadata.currentDetails).toContain('**Phase:** merge-gate');
      expect(metadata.currentDetails).toMatch(/\*\*PR:\*\* \[acme\/widgets#1\]/);
      expect(metadata.currentDetails).toContain('**CI times out** at');

      const summaries = await activitySummaries(line, workflowId);
      expect(summaries).toContainEqual(['runAgent', expect.stringMatching(new RegExp(`^runAgent \\w+ on acme/widgets for ${issue.key}, attempt 1$`))]);
      expect(summaries).toContainEqual(['publishPullRequest', expect.stringMatching(/^publish conveyor\/.+ to acme\/widgets$/)]);
      expect(summaries).toContainEqual(['readPullRequest', 'read acme/widgets#1: head, checks, reviews']);
    });
  });
});

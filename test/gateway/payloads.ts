// Payloads, secrets and the config the gateway tests share, with nothing that starts a server
// or loads the Temporal client: the pure mapper and verifier tests import this file (it runs
// once per mutant under `npm run mutation`); fixtures.ts re-exports it for the HTTP tests.
import { createHmac, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { WebhookDefinition } from '@octokit/webhooks-examples';
import { factorySchema } from '../../src/config/factory-schema.js';
import type { Config } from '../../src/config/load.js';
import { temporalSchema } from '../../src/config/temporal-schema.js';
import { branchForIssue } from '../../src/domain/naming.js';

// The package's main is a JSON file, which ESM can only import with an attribute; require is simpler.
const examples = createRequire(import.meta.url)('@octokit/webhooks-examples') as WebhookDefinition[];

export const LINEAR_SECRET = 'linear-secret-new-5f1c9a';
export const LINEAR_OLD_SECRET = 'linear-secret-old-77ab20';
export const LINEAR_RETIRED_SECRET = 'linear-secret-retired-0d4e1f';
export const GITHUB_SECRET = 'github-secret-new-a93b7e';
export const GITHUB_OLD_SECRET = 'github-secret-old-1c2d3e';
export const GITHUB_RETIRED_SECRET = 'github-secret-retired-9f8e7d';

export const REPO = 'acme/widgets';
export const OPERATOR_EMAIL = 'operator@example.com';

export function testConfig(): Config {
  const factory = factorySchema.parse({
    tracker: {
      teams: [
        { key: 'ENG', defaultRepo: REPO },
        { key: 'OPS', defaultRepo: REPO, readyState: 'Ready for agents' },
      ],
      operators: [OPERATOR_EMAIL, 'Grace Hopper'],
    },
    repos: [{ name: REPO }],
    agents: { default: 'demo', providers: { demo: { command: ['true'] } } },
  });
  const temporal = temporalSchema.parse({});
  return { profile: 'sandbox', root: '/nonexistent', temporal, factory, taskQueue: 'conveyor-test', files: { temporal: 'temporal.yaml', factory: 'factory.yaml' } };
}

// ---- Linear ----

export const ISSUE_ID = '5d6a3b1e-8c2f-4b7a-9e41-0c3d2f1a6b90';
export const ISSUE_KEY = 'ENG-42';

export interface LinearIssueOptions {
  action?: 'create' | 'update' | 'remove';
  id?: string;
  identifier?: string;
  teamKey?: string;
  labels?: string[];
  state?: { name: string; type: string };
  webhookTimestamp?: number;
}

/** An Issue delivery shaped like Linear's (`EntityWebhookPayloadWithIssueData`). */
export function linearIssuePayload(options: LinearIssueOptions = {}): Record<string, unknown> {
  const identifier = options.identifier ?? ISSUE_KEY;
  const teamKey = options.teamKey ?? identifier.split('-')[0]!;
  return {
    action: options.action ?? 'update',
    type: 'Issue',
    createdAt: new Date().toISOString(),
    organizationId: 'org-1',
    url: `https://linear.app/acme/issue/${identifier}`,
    webhookId: 'webhook-1',
    webhookTimestamp: options.webhookTimestamp ?? Date.now(),
    actor: { id: 'user-1', name: 'Ada Lovelace', email: 'ada@example.com', type: 'user' },
    updatedFrom: { updatedAt: new Date(Date.now() - 1000).toISOString() },
    data: {
      id: options.id ?? ISSUE_ID,
      identifier,
      number: Number(identifier.split('-')[1]),
      title: 'Add a widget',
      description: 'A description',
      priority: 2,
      teamId: `team-${teamKey}`,
      team: { id: `team-${teamKey}`, key: teamKey, name: teamKey },
      stateId: 'state-1',
      state: options.state ?? { id: 'state-1', name: 'Todo', type: 'unstarted', color: '#ccc' },
      labelIds: (options.labels ?? ['conveyor']).map((l) => `label-${l}`),
      labels: (options.labels ?? ['conveyor']).map((name) => ({ id: `label-${name}`, name, color: '#f00' })),
      createdAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
      url: `https://linear.app/acme/issue/${identifier}`,
    },
  };
}

export function linearCommentPayload(options: { body: string; user?: { name: string; email: string }; issueId?: string; identifier?: string }): Record<string, unknown> {
  const identifier = options.identifier ?? ISSUE_KEY;
  const teamKey = identifier.split('-')[0]!;
  const user = options.user ?? { name: 'Ops Person', email: OPERATOR_EMAIL };
  return {
    action: 'create',
    type: 'Comment',
    createdAt: new Date().toISOString(),
    organizationId: 'org-1',
    webhookId: 'webhook-1',
    webhookTimestamp: Date.now(),
    actor: { id: 'user-2', ...user, type: 'user' },
    data: {
      id: randomUUID(),
      body: options.body,
      issueId: options.issueId ?? ISSUE_ID,
      issue: { id: options.issueId ?? ISSUE_ID, identifier, title: 'Add a widget', teamId: `team-${teamKey}`, team: { id: `team-${teamKey}`, key: teamKey, name: teamKey }, url: 'https://linear.app' },
      userId: 'user-2',
      user: { id: 'user-2', url: 'https://linear.app/u', ...user },
      createdAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
      reactionData: {},
    },
  };
}

/** The config with Linear agent sessions on (`tracker.agentSessions`), optionally pinned to one app user. */
export function sessionsConfig(appUserId?: string): Config {
  const config = testConfig();
  return { ...config, factory: { ...config.factory, tracker: { ...config.factory.tracker, agentSessions: { ...config.factory.tracker.agentSessions, enabled: true, ...(appUserId ? { appUserId } : {}) } } } };
}

export const APP_USER_ID = 'a9e0c1d2-3b4f-4a5b-8c6d-7e8f9a0b1c2d';

/** An AgentSessionEvent shaped like Linear's (`AgentSessionEventWebhookPayload`): `prompted` with a
 * person's activity (the stop button: `signal: 'stop'`), or `created`. */
export function linearAgentSessionPayload(options: { action?: 'created' | 'prompted'; signal?: string | null; user?: { name: string; email: string }; identifier?: string; issueId?: string | null; appUserId?: string } = {}): Record<string, unknown> {
  const identifier = options.identifier ?? ISSUE_KEY;
  const teamKey = identifier.split('-')[0]!;
  const issueId = options.issueId === undefined ? ISSUE_ID : options.issueId;
  const user = options.user ?? { name: 'Ops Person', email: OPERATOR_EMAIL };
  const at = new Date().toISOString();
  const session = {
    id: 'f3c2b1a0-9e8d-4c7b-a6f5-e4d3c2b1a0f9',
    appUserId: options.appUserId ?? APP_USER_ID,
    createdAt: at,
    updatedAt: at,
    organizationId: 'org-1',
    status: 'active',
    type: 'commentThread',
    ...(issueId === null ? {} : { issueId, issue: { id: issueId, identifier, title: 'Add a widget', teamId: `team-${teamKey}`, team: { id: `team-${teamKey}`, key: teamKey, name: teamKey }, url: 'https://linear.app' } }),
  };
  return {
    type: 'AgentSessionEvent',
    action: options.action ?? 'prompted',
    createdAt: at,
    organizationId: 'org-1',
    oauthClientId: 'oauth-1',
    appUserId: options.appUserId ?? APP_USER_ID,
    webhookId: 'webhook-1',
    webhookTimestamp: Date.now(),
    agentSession: session,
    ...((options.action ?? 'prompted') === 'prompted'
      ? { agentActivity: { id: randomUUID(), agentSessionId: session.id, content: { type: 'prompt', body: 'Stop' }, signal: options.signal === undefined ? 'stop' : options.signal, createdAt: at, updatedAt: at, userId: 'user-2', user: { id: 'user-2', url: 'https://linear.app/u', ...user } } }
      : { promptContext: '<issue/>' }),
  };
}

export function signLinear(body: string | Buffer, secret = LINEAR_SECRET): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

// ---- GitHub ----

export const FACTORY_BRANCH = branchForIssue(ISSUE_KEY, ISSUE_ID);

type Example = Record<string, unknown>;

/**
 * A real payload from @octokit/webhooks-examples, changed only where the factory must see its
 * own repo and branch: the repository's name, and `changes` (the examples' PR branch) renamed.
 */
export function githubExample(event: string, action: string | null, options: { repo?: string; branch?: string; index?: number } = {}): Example {
  const definition = examples.find((d) => d.name === event);
  if (!definition) throw new Error(`no examples for ${event}`);
  const candidates = (definition.examples as unknown as Example[]).filter((e) => action === null || e.action === action);
  const example = candidates[options.index ?? 0];
  if (!example) throw new Error(`no ${event}.${action} example`);
  const original = (example.repository as { full_name: string }).full_name;
  const repo = options.repo ?? REPO;
  const branch = options.branch ?? FACTORY_BRANCH;
  let text = JSON.stringify(example).replaceAll(original, repo).replaceAll('"changes"', JSON.stringify(branch));
  const [owner, name] = repo.split('/') as [string, string];
  const [origOwner, origName] = original.split('/') as [string, string];
  text = text.replaceAll(`"name":"${origName}"`, `"name":"${name}"`).replaceAll(`"login":"${origOwner}"`, `"login":"${owner}"`);
  return JSON.parse(text) as Example;
}

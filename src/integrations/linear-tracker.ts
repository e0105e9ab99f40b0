import { LinearClient, LinearError, LinearErrorType } from '@linear/sdk';
import type { Logger } from 'pino';
import type { FailureClass } from '../domain/failure.js';
import type { StateType, TrackerIssue } from '../domain/issue.js';
import { IntegrationError } from './errors.js';
import type { AgentSessions, BlockingRelations, IssueFiler, NewIssue, RelatedIssue, Tracker } from './tracker.js';

// The Tracker over @linear/sdk. Reads go through one GraphQL document each (the SDK's own
// client, `rawRequest`), because the SDK's model objects fetch every relation with a request of
// its own: an issue with its state, team, labels, project and assignee would cost six requests,
// and a sweep of 100 issues six hundred, against Linear's per-hour budget. Writes use the SDK's
// typed mutations. Every failure leaves as an IntegrationError whose class decides retry or
// escalate; the API key never appears in a message or a log line.

export interface LinearTrackerOptions {
  apiKey: string;
  /** Linear's GraphQL endpoint; default https://api.linear.app/graphql (the sandbox passes its own). */
  apiUrl?: string;
  logger?: Logger;
  /** Issues per page when listing (Linear allows up to 250); default 50. */
  pageSize?: number;
}

const STATE_TYPES: readonly StateType[] = ['triage', 'backlog', 'unstarted', 'started', 'completed', 'canceled'];

const ISSUE_FIELDS = /* GraphQL */ `
  fragment ConveyorIssue on Issue {
    id
    identifier
    title
    description
    url
    priority
    createdAt
    updatedAt
    team { id key }
    project { name }
    state { name type }
    assignee { name email }
    labels(first: 250) { nodes { name } }
  }
`;

const GET_ISSUE = /* GraphQL */ `
  query ConveyorIssue($id: String!) {
    issue(id: $id) { ...ConveyorIssue }
  }
  ${ISSUE_FIELDS}
`;

const LIST_ISSUES = /* GraphQL */ `
  query ConveyorIssues($filter: IssueFilter, $first: Int, $after: String) {
    issues(filter: $filter, first: $first, after: $after) {
      nodes { ...ConveyorIssue }
      pageInfo { hasNextPage endCursor }
    }
  }
  ${ISSUE_FIELDS}
`;

const ISSUE_TEAM_STATES = /* GraphQL */ `
  query ConveyorIssueTeamStates($id: String!) {
    issue(id: $id) {
      id
      identifier
      state { id name }
      team { id key states(first: 250) { nodes { id name type position } } }
    }
  }
`;

const ISSUE_LABELS = /* GraphQL */ `
  query ConveyorIssueLabels($id: String!, $name: String!) {
    issue(id: $id) {
      id
      identifier
      team { id key }
      labels(first: 250) { nodes { id name } }
    }
    issueLabels(first: 50, filter: { name: { eqIgnoreCase: $name } }) {
      nodes { id name team { id } }
    }
  }
`;

// Linear filters server-side, so one small page answers the question however long the thread.
const ISSUE_HAS_COMMENT = /* GraphQL */ `
  query ConveyorIssueHasComment($id: String!, $text: String!) {
    issue(id: $id) {
      id
      comments(first: 1, filter: { body: { contains: $text } }) { nodes { id } }
    }
  }
`;

// Both directions of an issue's relations; only `blocks` ones are kept. A hundred each way is
// far past any real backlog's blockers; more are reported, not silently dropped.
const ISSUE_RELATIONS = /* GraphQL */ `
  query ConveyorIssueRelations($id: String!) {
    issue(id: $id) {
      id
      identifier
      relations(first: 100) { nodes { type relatedIssue { id identifier state { name type } } } pageInfo { hasNextPage } }
      inverseRelations(first: 100) { nodes { type issue { id identifier state { name type } } } pageInfo { hasNextPage } }
    }
  }
`;

const TEAM_STATES_AND_LABELS = /* GraphQL */ `
  query ConveyorTeamForNewIssue($team: String!, $labels: [String!]) {
    team(id: $team) { id key states(first: 250) { nodes { id name } } }
    issueLabels(first: 250, filter: { name: { in: $labels } }) { nodes { id name team { id } } }
  }
`;

const CREATE_ISSUE = /* GraphQL */ `
  mutation ConveyorCreateIssue($input: IssueCreateInput!) {
    issueCreate(input: $input) { success issue { ...ConveyorIssue } }
  }
  ${ISSUE_FIELDS}
`;

interface TeamForNewIssue {
  team: { id: string; key: string; states: { nodes: Array<{ id: string; name: string }> } };
  issueLabels: { nodes: Array<{ id: string; name: string; team: { id: string } | null }> };
}

interface RelatedNode {
  id: string;
  identifier: string;
  state: { name: string; type: string };
}

interface IssueRelations {
  issue: {
    id: string;
    identifier: string;
    relations: { nodes: Array<{ type: string; relatedIssue: RelatedNode }>; pageInfo: { hasNextPage: boolean } };
    inverseRelations: { nodes: Array<{ type: string; issue: RelatedNode }>; pageInfo: { hasNextPage: boolean } };
  };
}

interface IssueNode {
  id: string;
  identifier: string;
  title: string;
  description: string | null;
  url: string;
  priority: number;
  createdAt: string;
  updatedAt: string;
  team: { id: string; key: string };
  project: { name: string } | null;
  state: { name: string; type: string };
  assignee: { name: string; email: string } | null;
  labels: { nodes: Array<{ name: string }> };
}

interface IssueTeamStates {
  issue: {
    id: string;
    identifier: string;
    state: { id: string; name: string };
    team: { id: string; key: string; states: { nodes: Array<{ id: string; name: string; type: string; position: number }> } };
  };
}

interface IssueLabels {
  issue: { id: string; identifier: string; team: { id: string; key: string }; labels: { nodes: Array<{ id: string; name: string }> } };
  issueLabels: { nodes: Array<{ id: string; name: string; team: { id: string } | null }> };
}

const AUTH_MESSAGE = 'Linear rejected the API key (LINEAR_API_KEY): check it is valid and has access to the team';

function isStateType(value: string): value is StateType {
  return (STATE_TYPES as readonly string[]).includes(value);
}

function toTrackerIssue(node: IssueNode): TrackerIssue {
  if (!isStateType(node.state.type)) {
    throw new IntegrationError(
      `Linear issue ${node.identifier} is in state "${node.state.name}" of unknown type "${node.state.type}"; Conveyor knows ${STATE_TYPES.join(', ')}.`,
      'unknown',
      { service: 'linear' },
    );
  }
  return {
    id: node.id,
    key: node.identifier,
    title: node.title,
    description: node.description ?? '',
    url: node.url,
    team: { id: node.team.id, key: node.team.key },
    project: node.project?.name ?? null,
    labels: node.labels.nodes.map((label) => label.name),
    priority: node.priority,
    state: { name: node.state.name, type: node.state.type },
    // The email identifies the person unambiguously; names are not unique in a workspace.
    assignee: node.assignee ? node.assignee.email || node.assignee.name : null,
    createdAt: node.createdAt,
    updatedAt: node.updatedAt,
  };
}

function headerNumber(headers: Headers | undefined, name: string): number | undefined {
  const value = headers?.get(name);
  if (value === undefined || value === null || value.trim() === '') return undefined;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : undefined;
}

/** How long Linear asks us to wait: `Retry-After` (seconds), else until the request budget resets (epoch ms). */
function retryAfterMs(headers: Headers | undefined): number | undefined {
  const seconds = headerNumber(headers, 'retry-after');
  if (seconds !== undefined) return Math.max(0, Math.round(seconds * 1000));
  const resetAt = headerNumber(headers, 'x-ratelimit-requests-reset');
  if (resetAt !== undefined) return Math.max(0, resetAt - Date.now());
  return undefined;
}

/** The codes in the raw GraphQL errors: Linear sometimes sends RATELIMITED without a `type` the SDK maps. */
function errorCodes(error: LinearError): string[] {
  const raw = error.raw?.response?.errors ?? [];
  return raw.map((e) => String((e.extensions as Record<string, unknown> | undefined)?.['code'] ?? '')).filter(Boolean);
}

function isNetworkFailure(error: unknown): boolean {
  if (error instanceof LinearError) return error.status === undefined && error.raw?.response === undefined;
  return error instanceof TypeError && /fetch failed|network/i.test(error.message);
}

function causeOf(error: unknown): string {
  const cause = (error as { raw?: { cause?: unknown }; cause?: unknown }).raw?.cause ?? (error as { cause?: unknown }).cause;
  if (cause && typeof cause === 'object' && 'code' in cause) return String((cause as { code: unknown }).code);
  return error instanceof Error ? error.message : String(error);
}

function shorten(text: string, max = 300): string {
  const flat = text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

export function createLinearTracker(options: LinearTrackerOptions): Tracker & IssueFiler & AgentSessions {
  const { apiKey, logger } = options;
  const apiUrl = options.apiUrl ?? 'https://api.linear.app/graphql';
  const pageSize = options.pageSize ?? 50;
  const client = new LinearClient({ apiKey, apiUrl });

  /** Belt and braces: whatever a server echoes back, the key never leaves in a message. */
  const redact = (text: string): string => (apiKey ? text.split(apiKey).join('[redacted]') : text);

  function classify(error: unknown, action: string): IntegrationError {
    if (error instanceof IntegrationError) return error;
    const fail = (message: string, failureClass: FailureClass, details: { status?: number; retryAfterMs?: number } = {}): IntegrationError => {
      const result = new IntegrationError(redact(message), failureClass, { service: 'linear', ...details });
      logger?.warn({ action, failureClass, status: details.status, retryAfterMs: details.retryAfterMs }, redact(message));
      return result;
    };
    if (isNetworkFailure(error)) {
      return fail(`Could not reach Linear at ${apiUrl} while ${action} (${causeOf(error)}); will retry.`, 'transient');
    }
    if (!(error instanceof LinearError)) {
      return fail(`Linear call failed unexpectedly while ${action}: ${error instanceof Error ? error.message : String(error)}`, 'unknown');
    }
    const status = error.status;
    const statusDetail = status === undefined ? {} : { status };
    const codes = errorCodes(error);
    const detail = shorten(error.message || 'no detail');
    if (error.type === LinearErrorType.AuthenticationError || error.type === LinearErrorType.Forbidden || status === 401 || status === 403) {
      return fail(`${AUTH_MESSAGE} (while ${action}).`, 'auth', statusDetail);
    }
    if (error.type === LinearErrorType.Ratelimited || codes.includes('RATELIMITED') || status === 429) {
      const wait = retryAfterMs(error.raw?.response?.headers);
      const when = wait === undefined ? 'later' : `in ${Math.ceil(wait / 1000)} s`;
      return fail(`Linear rate-limited Conveyor while ${action}; retry ${when}.`, 'transient', {
        ...statusDetail,
        ...(wait === undefined ? {} : { retryAfterMs: wait }),
      });
    }
    if (
      error.type === LinearErrorType.InternalError ||
      error.type === LinearErrorType.NetworkError ||
      error.type === LinearErrorType.LockTimeout ||
      (status !== undefined && status >= 500)
    ) {
      return fail(`Linear failed while ${action} (HTTP ${status ?? 'n/a'}: ${detail}); this is usually temporary, will retry.`, 'transient', statusDetail);
    }
    if (
      error.type === LinearErrorType.InvalidInput ||
      error.type === LinearErrorType.UserError ||
      error.type === LinearErrorType.GraphqlError ||
      error.type === LinearErrorType.FeatureNotAccessible ||
      error.type === LinearErrorType.UsageLimitExceeded ||
      (status !== undefined && status >= 400 && status < 500)
    ) {
      return fail(`Linear refused ${action}: ${detail}`, 'logic', statusDetail);
    }
    return fail(`Linear failed while ${action}: ${detail}`, 'unknown', statusDetail);
  }

  async function call<T>(action: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw classify(error, action);
    }
  }

  async function query<Data>(action: string, document: string, variables: Record<string, unknown>): Promise<Data> {
    return call(action, async () => {
      const response = await client.client.rawRequest<Data, Record<string, unknown>>(document, variables);
      if (!response.data) throw new IntegrationError(`Linear sent no data while ${action}.`, 'unknown', { service: 'linear' });
      return response.data;
    });
  }

  function expectSuccess(result: { success: boolean }, action: string): void {
    if (!result.success) {
      throw new IntegrationError(`Linear did not apply ${action} (success: false); check the issue in Linear.`, 'logic', { service: 'linear' });
    }
  }

  return {
    async getIssue(issueId) {
      const data = await query<{ issue: IssueNode }>(`getting issue ${issueId}`, GET_ISSUE, { id: issueId });
      return toTrackerIssue(data.issue);
    },

    async listIssues({ teamKeys, label }) {
      if (teamKeys.length === 0) return [];
      const filter = {
        team: { key: { in: teamKeys } },
        labels: { name: { eqIgnoreCase: label } },
        state: { type: { nin: ['completed', 'canceled'] } },
      };
      const issues: TrackerIssue[] = [];
      const seen = new Set<string>();
      let after: string | null = null;
      for (let page = 1; ; page += 1) {
        const action = `listing issues labelled "${label}" in ${teamKeys.join(', ')} (page ${page})`;
        const data: { issues: { nodes: IssueNode[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } = await query(
          action,
          LIST_ISSUES,
          { filter, first: pageSize, after },
        );
        issues.push(...data.issues.nodes.map(toTrackerIssue));
        const { hasNextPage, endCursor } = data.issues.pageInfo;
        if (!hasNextPage || !endCursor) return issues;
        // A cursor seen before would loop forever; Linear never sends one, but a proxy might.
        if (seen.has(endCursor)) throw new IntegrationError(`Linear repeated a page cursor while ${action}.`, 'unknown', { service: 'linear' });
        seen.add(endCursor);
        after = endCursor;
      }
    },

    async moveIssue(issueId, stateName) {
      const { issue } = await query<IssueTeamStates>(`reading the states of the team of issue ${issueId}`, ISSUE_TEAM_STATES, { id: issueId });
      // In the team's workflow order, as Linear's UI lists them, for a readable error.
      const states = [...issue.team.states.nodes].sort((a, b) => a.position - b.position);
      const state = states.find((s) => s.name === stateName) ?? states.find((s) => s.name.toLowerCase() === stateName.toLowerCase());
      if (!state) {
        throw new IntegrationError(
          `Linear team ${issue.team.key} has no workflow state named "${stateName}" (issue ${issue.identifier}); ` +
            `its states are: ${states.map((s) => s.name).join(', ')}. Fix the state name in the factory config or add the state in Linear.`,
          'logic',
          { service: 'linear' },
        );
      }
      if (issue.state.id === state.id) return; // already there: no write, no webhook
      const action = `moving issue ${issue.identifier} to "${state.name}"`;
      const result = await call(action, () => client.updateIssue(issue.id, { stateId: state.id }));
      expectSuccess(result, action);
    },

    async comment(issueId, body) {
      const action = `commenting on issue ${issueId}`;
      const result = await call(action, () => client.createComment({ issueId, body }));
      expectSuccess(result, action);
    },

    async hasComment(issueId, text) {
      const data = await query<{ issue: { comments: { nodes: Array<{ id: string }> } } }>(`reading comments of issue ${issueId}`, ISSUE_HAS_COMMENT, { id: issueId, text });
      return data.issue.comments.nodes.length > 0;
    },

    async getBlockingRelations(issueId): Promise<BlockingRelations> {
      const { issue } = await query<IssueRelations>(`reading the relations of issue ${issueId}`, ISSUE_RELATIONS, { id: issueId });
      if (issue.relations.pageInfo.hasNextPage || issue.inverseRelations.pageInfo.hasNextPage) {
        logger?.warn({ issue: issue.identifier }, 'issue has more than 100 relations one way; only the first 100 are read');
      }
      const related = (node: RelatedNode): RelatedIssue => {
        if (!isStateType(node.state.type)) {
          throw new IntegrationError(`Linear issue ${node.identifier} is in state "${node.state.name}" of unknown type "${node.state.type}"; Conveyor knows ${STATE_TYPES.join(', ')}.`, 'unknown', { service: 'linear' });
        }
        return { id: node.id, key: node.identifier, state: { name: node.state.name, type: node.state.type } };
      };
      return {
        // The source of an inverse "blocks" relation blocks this issue.
        blockedBy: issue.inverseRelations.nodes.filter((r) => r.type === 'blocks').map((r) => related(r.issue)),
        blocks: issue.relations.nodes.filter((r) => r.type === 'blocks').map((r) => related(r.relatedIssue)),
      };
    },

    async createIssue(issue: NewIssue) {
      const { team, issueLabels } = await query<TeamForNewIssue>(`reading team ${issue.teamKey} to file an issue`, TEAM_STATES_AND_LABELS, { team: issue.teamKey, labels: issue.labels });
      const state = team.states.nodes.find((s) => s.name.toLowerCase() === issue.stateName.toLowerCase());
      if (!state) {
        throw new IntegrationError(`Linear team ${team.key} has no workflow state named "${issue.stateName}"; its states are: ${team.states.nodes.map((s) => s.name).join(', ')}.`, 'logic', { service: 'linear' });
      }
      const labelIds = issue.labels.map((name) => {
        const usable = issueLabels.nodes.filter((l) => l.name.toLowerCase() === name.toLowerCase() && (l.team === null || l.team.id === team.id));
        const found = usable.find((l) => l.team !== null) ?? usable[0];
        if (!found) throw new IntegrationError(`Linear has no label "${name}" usable in team ${team.key}: create it in Linear as a workspace or ${team.key} label.`, 'logic', { service: 'linear' });
        return found.id;
      });
      const action = `filing an issue in team ${team.key}`;
      const data = await query<{ issueCreate: { success: boolean; issue: IssueNode | null } }>(action, CREATE_ISSUE, {
        input: { teamId: team.id, title: issue.title, description: issue.description, stateId: state.id, labelIds },
      });
      expectSuccess(data.issueCreate, action);
      if (!data.issueCreate.issue) throw new IntegrationError(`Linear filed the issue but did not return it (${action}).`, 'unknown', { service: 'linear' });
      return toTrackerIssue(data.issueCreate.issue);
    },

    async addLabel(issueId, label) {
      const data = await query<IssueLabels>(`reading labels for issue ${issueId}`, ISSUE_LABELS, { id: issueId, name: label });
      const { issue } = data;
      if (issue.labels.nodes.some((l) => l.name.toLowerCase() === label.toLowerCase())) return;
      // A team's own label wins over a workspace label of the same name, as in Linear's UI.
      const usable = data.issueLabels.nodes.filter((l) => l.team === null || l.team.id === issue.team.id);
      const found = usable.find((l) => l.team !== null) ?? usable[0];
      if (!found) {
        throw new IntegrationError(
          `Linear has no label "${label}" usable in team ${issue.team.key} (issue ${issue.identifier}): create it in Linear as a workspace or ${issue.team.key} label.`,
          'logic',
          { service: 'linear' },
        );
      }
      const action = `adding label "${found.name}" to issue ${issue.identifier}`;
      const result = await call(action, () => client.issueAddLabel(issue.id, found.id));
      expectSuccess(result, action);
    },

    // Agent sessions through the SDK's own generated mutations, so the documents Linear (or the
    // emulator) receives are exactly the SDK's.
    async createAgentSession({ issueId, links }) {
      const action = `opening an agent session on issue ${issueId}`;
      const result = await call(action, () => client.agentSessionCreateOnIssue({ issueId, ...(links && links.length > 0 ? { externalUrls: links } : {}) }));
      expectSuccess(result, action);
      if (!result.agentSessionId) throw new IntegrationError(`Linear opened no agent session (${action}).`, 'unknown', { service: 'linear' });
      return result.agentSessionId;
    },

    async postAgentActivity(sessionId, content, postOptions) {
      const action = `posting a ${content.type} to agent session ${sessionId}`;
      const result = await call(action, () => client.createAgentActivity({ agentSessionId: sessionId, content, ...(postOptions?.ephemeral ? { ephemeral: true } : {}) }));
      expectSuccess(result, action);
    },

    async removeLabel(issueId, label) {
      const data = await query<IssueLabels>(`reading labels for issue ${issueId}`, ISSUE_LABELS, { id: issueId, name: label });
      const { issue } = data;
      const present = issue.labels.nodes.filter((l) => l.name.toLowerCase() === label.toLowerCase());
      for (const found of present) {
        const action = `removing label "${found.name}" from issue ${issue.identifier}`;
        const result = await call(action, () => client.issueRemoveLabel(issue.id, found.id));
        expectSuccess(result, action);
      }
    },
  };
}

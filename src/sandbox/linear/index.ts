import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { handleAdmin } from './admin.js';
import { FaultInjector, type FaultSpec } from './faults.js';
import { LinearInputError } from './errors.js';
import { createGraphqlHandler, type InvalidDocument, type UnsupportedRequest } from './graphql-handler.js';
import type { ResolverContext } from './nodes.js';
import { DataFileWriter, loadDataFile } from './persistence.js';
import { createEmulatorServer } from './server.js';
import {
  LinearStore,
  type AddCommentInput,
  type CreateIssueInput,
  type CreateLabelInput,
  type CreateProjectInput,
  type CreateTeamInput,
  type CreateUserInput,
  type UpdateIssueInput,
} from './store.js';
import type { LinearData, UserRecord } from './types.js';
import {
  agentActivitySummary,
  agentSessionSummary,
  commentSummary,
  issueSummary,
  labelSummary,
  teamSummary,
  type SandboxAgentActivity,
  type SandboxAgentSession,
  type SandboxComment,
  type SandboxIssue,
  type SandboxLabel,
  type SandboxTeam,
} from './views.js';
import { WebhookSender, type WebhookDelivery, type WebhookTarget } from './webhooks.js';

export { DEFAULT_STATES } from './store.js';
export type {
  AddCommentInput,
  CreateIssueInput,
  CreateLabelInput,
  CreateProjectInput,
  CreateTeamInput,
  CreateUserInput,
  StateSeed,
  UpdateIssueInput,
} from './store.js';
export type { LinearData, UserRecord } from './types.js';
export type { FaultSpec } from './faults.js';
export type { InvalidDocument, UnsupportedRequest } from './graphql-handler.js';
export type { SandboxAgentActivity, SandboxAgentSession, SandboxComment, SandboxIssue, SandboxLabel, SandboxTeam } from './views.js';
export type { AgentSessionEventPayload, EntityWebhookPayload, LinearWebhookPayload, WebhookDelivery, WebhookTarget } from './webhooks.js';
export { AGENT_SESSION_EVENT_TYPE } from './webhooks.js';
export { webhookShapeErrors } from './webhook-shapes.js';
export { authenticationErrorBody, forbiddenErrorBody, internalErrorBody, rateLimitedErrorBody } from './errors.js';

export interface LinearEmulatorOptions {
  /** 0 (the default) takes a free port. */
  port?: number;
  host?: '127.0.0.1';
  /** JSON file the state is saved to and loaded from; absent: in memory only. */
  dataFile?: string;
  /** Keys accepted in the Authorization header; each acts as the emulator's viewer user. */
  apiKeys: string[];
  webhooks?: WebhookTarget[];
  logger?: Logger;
  /** Waits before each webhook retry (default 250 ms, 1 s, 4 s). */
  webhookRetryDelaysMs?: number[];
}

export interface LinearEmulatorState {
  data: LinearData;
  deliveries: WebhookDelivery[];
  invalidDocuments: InvalidDocument[];
  unsupportedRequests: UnsupportedRequest[];
}

export interface LinearEmulator {
  /** The GraphQL endpoint, e.g. http://127.0.0.1:PORT/graphql: pass it as `apiUrl` to LinearClient. */
  readonly url: string;
  /** The origin, e.g. http://127.0.0.1:PORT; the admin API is under /_sandbox/. */
  readonly baseUrl: string;
  readonly port: number;
  /** Every webhook sent (or being sent), oldest first. */
  readonly deliveries: readonly WebhookDelivery[];
  /** GraphQL documents that did not validate against Linear's schema. */
  readonly invalidDocuments: readonly InvalidDocument[];
  /** Requests that reached a part of Linear the emulator does not implement. */
  readonly unsupportedRequests: readonly UnsupportedRequest[];

  createTeam(input: CreateTeamInput): SandboxTeam;
  createLabel(input: CreateLabelInput): SandboxLabel;
  createUser(input: CreateUserInput): UserRecord;
  createProject(input: CreateProjectInput): { id: string; name: string };
  createIssue(input: CreateIssueInput): SandboxIssue;
  updateIssue(idOrKey: string, input: UpdateIssueInput): SandboxIssue;
  addComment(input: AddCommentInput): SandboxComment;
  getIssue(idOrKey: string): SandboxIssue | undefined;
  listComments(issueIdOrKey: string): SandboxComment[];
  /** A relation between two issues (ids or keys): for `blocks`, `issue` blocks `relatedIssue`. */
  createRelation(input: { issue: string; relatedIssue: string; type: 'blocks' | 'duplicate' | 'related' | 'similar' }): { id: string };
  /** The issue's agent sessions with their activities, oldest first. */
  listAgentSessions(issueIdOrKey: string): SandboxAgentSession[];
  /**
   * What pressing stop in a session's panel does in Linear: a prompt activity by that person
   * with `signal: stop`, sent to the agent as an AgentSessionEvent `prompted`. Refused for a
   * session that already ended (complete or error): Linear shows no stop button there.
   */
  stopAgentSession(sessionId: string, input: { userEmail: string; body?: string }): SandboxAgentActivity;
  /** A person's message in the session (an AgentSessionEvent `prompted` without a signal). */
  promptAgentSession(sessionId: string, input: { userEmail: string; body: string }): SandboxAgentActivity;
  /** The user every API key acts as. */
  viewer(): UserRecord;
  state(): LinearEmulatorState;
  /** Empty workspace, no faults, no recorded deliveries or documents; webhooks stay configured. */
  reset(): void;

  injectFault(fault: FaultSpec): void;
  clearFaults(): void;
  addWebhook(target: WebhookTarget): void;
  /** Resolves once every queued webhook has been delivered or given up on. */
  webhooksSettled(): Promise<void>;
  /** Waits for the data file to be written (a no-op without one). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Starts the emulator and resolves once it listens. */
export async function startLinearEmulator(options: LinearEmulatorOptions): Promise<LinearEmulator> {
  const logger = options.logger ?? pino({ name: 'linear-emulator', level: process.env['LOG_LEVEL'] ?? 'warn' });
  const host = options.host ?? '127.0.0.1';
  if (options.apiKeys.length === 0) throw new Error('startLinearEmulator needs at least one API key (options.apiKeys).');

  const store = new LinearStore(options.dataFile ? loadDataFile(options.dataFile) : undefined);
  // The base URL is known once the server listens; the context object is shared, so filling it in then reaches every resolver.
  const context: ResolverContext = { store, baseUrl: '' };
  const faults = new FaultInjector();
  const invalidDocuments: InvalidDocument[] = [];
  const unsupportedRequests: UnsupportedRequest[] = [];
  const webhooks = new WebhookSender({
    context,
    targets: options.webhooks ?? [],
    logger,
    ...(options.webhookRetryDelaysMs ? { retryDelaysMs: options.webhookRetryDelaysMs } : {}),
  });
  store.onEvent((event) => webhooks.send(event));
  const writer = options.dataFile ? new DataFileWriter(options.dataFile, () => store.snapshot(), logger) : undefined;
  if (writer) store.onWrite(() => writer.schedule());

  const graphql = createGraphqlHandler({
    context,
    apiKeys: new Set(options.apiKeys),
    faults,
    logger,
    invalidDocuments,
    unsupported: unsupportedRequests,
  });

  const server = createEmulatorServer(
    {
      graphql,
      // `emulator` is assigned right after `listen` resolves, before any request is read.
      admin: (method, path, raw) => handleAdmin(emulator, method, path, raw),
    },
    logger,
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://${host}:${port}`;
  context.baseUrl = baseUrl;

  /** A person in the workspace by email; the API key's own user is the agent, never a person here. */
  const personByEmail = (email: string): UserRecord => {
    const user = store.userByEmail(email);
    if (!user) throw new LinearInputError(`No user has email ${email}: create one first (POST /_sandbox/users).`);
    if (user.id === store.viewer().id) throw new LinearInputError(`${email} is the agent itself (the API key's user); a person stops or prompts a session.`);
    return user;
  };

  const emulator: LinearEmulator = {
    url: `${baseUrl}/graphql`,
    baseUrl,
    port,
    deliveries: webhooks.deliveries,
    invalidDocuments,
    unsupportedRequests,
    createTeam: (input) => teamSummary(context, store.createTeam(input)),
    createLabel: (input) => labelSummary(store.createLabel(input)),
    createUser: (input) => store.createUser(input),
    createProject: (input) => {
      const project = store.createProject(input);
      return { id: project.id, name: project.name };
    },
    createIssue: (input) => issueSummary(context, store.createIssue(input)),
    updateIssue: (idOrKey, input) => issueSummary(context, store.updateIssue(idOrKey, input)),
    addComment: (input) => commentSummary(context, store.addComment(input)),
    getIssue: (idOrKey) => {
      const issue = store.issue(idOrKey);
      return issue ? issueSummary(context, issue) : undefined;
    },
    listComments: (idOrKey) => store.issueComments(store.requireIssue(idOrKey).id).map((c) => commentSummary(context, c)),
    createRelation: (input) => ({ id: store.createRelation(input).id }),
    listAgentSessions: (idOrKey) => store.issueAgentSessions(store.requireIssue(idOrKey).id).map((s) => agentSessionSummary(context, s)),
    stopAgentSession: (sessionId, input) => {
      const session = store.requireAgentSession(sessionId);
      if (session.status === 'complete' || session.status === 'error') {
        throw new LinearInputError(`Agent session ${sessionId} already ended (${session.status}); there is nothing to stop.`);
      }
      return agentActivitySummary(context, store.insertAgentActivity({ agentSessionId: session.id, userId: personByEmail(input.userEmail).id, content: { type: 'prompt', body: input.body ?? 'Stop' }, signal: 'stop' }));
    },
    promptAgentSession: (sessionId, input) =>
      agentActivitySummary(context, store.insertAgentActivity({ agentSessionId: store.requireAgentSession(sessionId).id, userId: personByEmail(input.userEmail).id, content: { type: 'prompt', body: input.body } })),
    viewer: () => store.viewer(),
    state: () => ({
      data: store.snapshot(),
      deliveries: [...webhooks.deliveries],
      invalidDocuments: [...invalidDocuments],
      unsupportedRequests: [...unsupportedRequests],
    }),
    reset: () => {
      store.reset();
      faults.clear();
      webhooks.deliveries.length = 0;
      invalidDocuments.length = 0;
      unsupportedRequests.length = 0;
    },
    injectFault: (fault) => faults.inject(fault),
    clearFaults: () => faults.clear(),
    addWebhook: (target) => webhooks.addTarget(target),
    webhooksSettled: () => webhooks.settled(),
    flush: async () => {
      await writer?.flush();
    },
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await webhooks.close();
      await writer?.flush();
    },
  };

  logger.info({ url: emulator.url, dataFile: options.dataFile ?? null }, 'linear emulator listening');
  return emulator;
}

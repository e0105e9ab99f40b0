// The schema of `temporal.yaml`: how to reach Temporal and how the worker is tuned.
import { z } from 'zod';
import { isDuration } from '../domain/duration.js';

const duration = z.string().refine(isDuration, { message: 'expected a duration such as 30s, 10m, 2h or 7d' });
const port = z.number().int().min(0).max(65535);

export const SEARCH_ATTRIBUTE_TYPES = ['Keyword', 'Text', 'Int', 'Double', 'Bool', 'Datetime', 'KeywordList'] as const;

export const temporalSchema = z.strictObject({
  connection: z
    .strictObject({
      address: z.string().default('localhost:7233'),
      namespace: z.string().default('default'),
      /** Temporal Cloud API key: read from the environment variable named here, never from the file. */
      apiKeyEnv: z.string().default('TEMPORAL_API_KEY'),
      tls: z
        .strictObject({
          certFile: z.string(),
          keyFile: z.string(),
          caFile: z.string().optional(),
          serverName: z.string().optional(),
        })
        .optional(),
    })
    .prefault({}),
  taskQueues: z
    .strictObject({
      runtime: z.string().default('conveyor'),
      dev: z.string().default('conveyor-dev'),
      sandbox: z.string().default('conveyor-sandbox'),
    })
    .prefault({}),
  worker: z
    .strictObject({
      maxConcurrentActivityTaskExecutions: z.number().int().positive().default(20),
      maxConcurrentWorkflowTaskExecutions: z.number().int().positive().default(40),
      /**
       * Workflow runs the worker keeps in memory between their tasks (the SDK's sticky cache).
       * Sized on purpose, not left to the SDK's default (about 60% of the heap limit in MiB:
       * 2,310 runs on a 4 GiB heap): most open issue runs wait for days (escalated, in review),
       * and a waiting run in the cache holds memory for a task that comes rarely. A run that
       * is not cached costs one replay of its history when its next signal or timer arrives
       * (histories stay short: runs continue as new at a few thousand events). bench/scale
       * measures both sides; see its README. At least maxConcurrentWorkflowTaskExecutions, or
       * the SDK would quietly lower that instead.
       */
      maxCachedWorkflows: z.number().int().min(2).default(500),
      shutdownGraceTime: duration.default('30s'),
      /** After a SIGTERM the process exits by this time whatever still runs (default: the grace time + 10s). */
      shutdownDeadline: duration.optional(),
      metricsPort: port.default(9464),
      /** The wedge signal's window: work queued and no dispatch or completion for this long. Longer than agentTotal. */
      progressWindow: duration.default('90m'),
      /**
       * The workers that run issue workflows also run the line's activities (`conveyor worker`
       * always does), so a new run triages and claims its lease in local activities inside its
       * own workflow task. False only for a deployment whose workflow workers have no activities:
       * its runs then take ordinary activity tasks for these steps.
       */
      localActivities: z.boolean().default(true),
    })
    .prefault({})
    .refine((w) => w.maxCachedWorkflows >= w.maxConcurrentWorkflowTaskExecutions, {
      message: 'maxCachedWorkflows must be at least maxConcurrentWorkflowTaskExecutions (each workflow task in flight holds a cached run); raise it or lower the other',
      path: ['maxCachedWorkflows'],
    }),
  devServer: z
    .strictObject({
      ip: z.string().default('127.0.0.1'),
      port: port.default(7233),
      uiPort: port.default(8233),
      dbFile: z.string().default('.data/temporal/dev.sqlite'),
      namespace: z.string().default('default'),
    })
    .prefault({}),
  searchAttributes: z.record(z.string(), z.enum(SEARCH_ATTRIBUTE_TYPES)).default({}),
});

export type TemporalConfig = z.infer<typeof temporalSchema>;

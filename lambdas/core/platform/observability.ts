// Logs, metrics and traces, from Powertools for AWS Lambda: JSON logs whose errors keep their stack and
// cause chain, EMF metrics with the service as their dimension, and X-Ray subsegments for every SDK
// call. They go into a handler through its middy chain (observe), one set per function.
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type middy from '@middy/core';
import { createHash } from 'node:crypto';

/** The `service` of every log line and the dimension of every metric. */
export const SERVICE_NAME = 'user-data-export';
/** The CloudWatch namespace of the custom metrics. */
export const METRICS_NAMESPACE = 'UserDataExport';

/** The custom metrics the code emits; the alarms and the dashboard (lib/operations.ts) read these. */
export const METRICS = {
  /** An export's email could not be sent (SendLink; the workflow retries it). */
  DeliveryFailures: { name: 'DeliveryFailures', unit: MetricUnit.Count },
  /** The size of a delivered archive, all its parts. */
  ArchiveBytes: { name: 'ArchiveBytes', unit: MetricUnit.Bytes },
  /** Requests not answered within dueAlarmHours of their dueBy, counted by each daily sweep (zero included). */
  ExportsNearDue: { name: 'ExportsNearDue', unit: MetricUnit.Count },
} as const;

export type MetricName = keyof typeof METRICS;

/** What a piece of the core may do with metrics: add one of the catalogue's, flushed by the handler. */
export interface MetricSink {
  add(name: MetricName, value: number): void;
}

/** What a piece of the core may do with logs: write a line at one of these levels. */
export type LogSink = Pick<Logger, 'info' | 'warn' | 'error'>;

export interface Observability {
  logger: Logger;
  metrics: Metrics;
  tracer: Tracer;
}

/**
 * One function's Logger, Metrics and Tracer, configured alike wherever it runs: the Lambda runtime
 * takes the defaults (log level and tracing from what Lambda sets), the embedded stack silences logs
 * unless asked and turns tracing off (no X-Ray daemon runs there).
 */
export function createObservability(options: { functionName?: string; logLevel?: 'DEBUG' | 'INFO' | 'SILENT'; tracing?: boolean } = {}): Observability {
  const logger = new Logger({
    serviceName: SERVICE_NAME,
    ...(options.logLevel ? { logLevel: options.logLevel } : {}),
    ...(options.functionName ? { persistentKeys: { function_name: options.functionName } } : {}),
  });
  return {
    logger,
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME, logger }),
    tracer: new Tracer({ serviceName: SERVICE_NAME, ...(options.tracing === undefined ? {} : { enabled: options.tracing }) }),
  };
}

/** The Metrics some piece of the core was given a sink of: their handlers flush them (observe). */
const emitting = new WeakSet<Metrics>();

/** The catalogue's metric, added to the function's Metrics (published when the invocation ends). */
export function metricSink(metrics: Metrics): MetricSink {
  emitting.add(metrics);
  return { add: (name, value) => metrics.addMetric(METRICS[name].name, METRICS[name].unit, value) };
}

/**
 * A user id in logs is a hash: logs are kept a month and read by operators, who may correlate lines
 * of one user's export without reading who it is.
 */
export function userIdHash(userId: string): string {
  return createHash('sha256').update(userId, 'utf8').digest('hex').slice(0, 16);
}

interface KeyedEvent {
  exportId?: unknown;
  userId?: unknown;
  sourceId?: unknown;
  /** HTTP API events: the export in the path, the user in the path (support) or the token (account page). */
  pathParameters?: { id?: unknown; userId?: unknown } | null;
  requestContext?: { authorizer?: { jwt?: { claims?: { sub?: unknown } } } };
  /** EventBridge's execution status change: the execution is named after the export; its input names the user. */
  detail?: { name?: unknown; input?: unknown };
}

function executionInput(detail: KeyedEvent['detail']): { exportId?: unknown; userId?: unknown } {
  try {
    return typeof detail?.input === 'string' ? ((JSON.parse(detail.input) as { exportId?: unknown; userId?: unknown } | null) ?? {}) : {};
  } catch {
    return {};
  }
}

/** The export, the user (hashed) and the source an event is about, whichever kind of event it is: keys on every line the invocation logs. */
export function eventKeys(event: unknown): Record<string, string> {
  const fields = (event ?? {}) as KeyedEvent;
  const input = executionInput(fields.detail);
  const keys: Record<string, string> = {};
  const exportId = fields.exportId ?? fields.pathParameters?.id ?? input.exportId ?? fields.detail?.name;
  const userId = fields.userId ?? fields.pathParameters?.userId ?? fields.requestContext?.authorizer?.jwt?.claims?.sub ?? input.userId;
  if (typeof exportId === 'string') keys.exportId = exportId;
  if (typeof userId === 'string') keys.userIdHash = userIdHash(userId);
  if (typeof fields.sourceId === 'string') keys.sourceId = fields.sourceId;
  return keys;
}

/**
 * The middy middlewares of a handler's observability, outermost first: the Lambda context and the
 * event's keys on every log line (cleared after each invocation, so no key outlives its export), a
 * trace subsegment around the handler, metrics flushed when it ends (also when it fails), and the
 * failure logged once, with its stack and cause.
 */
export function observe(observability: Observability, step: string): middy.MiddlewareObj[] {
  const { logger, metrics, tracer } = observability;
  return [
    injectLambdaContext(logger, { resetKeys: true }),
    { before: (request) => void logger.appendKeys(eventKeys(request.event)) },
    captureLambdaHandler(tracer, { captureResponse: false }),
    // Only a handler that handed out a metric sink (it builds its dependencies first) flushes: Powertools
    // warns on every invocation that publishes nothing.
    ...(emitting.has(metrics) ? [logMetrics(metrics)] : []),
    { onError: (request) => void logger.error(`${step} failed`, request.error as Error) },
  ];
}

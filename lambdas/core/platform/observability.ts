// Logs, metrics and traces, from Powertools for AWS Lambda: JSON logs whose errors keep their stack and
// cause chain, EMF metrics with the service as their dimension, and X-Ray subsegments for every SDK
// call. They go into a handler through its middy chain (observe), one set per function.
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { Tracer } from '@aws-lambda-powertools/tracer';
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

/** The catalogue's metric, added to the function's Metrics (published when the invocation ends). */
export function metricSink(metrics: Metrics): MetricSink {
  return { add: (name, value) => metrics.addMetric(METRICS[name].name, METRICS[name].unit, value) };
}

/**
 * A user id in logs is a hash: logs are kept a month and read by operators, who may correlate lines
 * of one user's export without reading who it is.
 */
export function userIdHash(userId: string): string {
  return createHash('sha256').update(userId, 'utf8').digest('hex').slice(0, 16);
}

/** The export, the user (hashed) and the source an event is about: keys on every line the invocation logs. */
function eventKeys(event: unknown): Record<string, string> {
  const fields = (event ?? {}) as { exportId?: unknown; userId?: unknown; sourceId?: unknown; pathParameters?: { id?: unknown } | null };
  const keys: Record<string, string> = {};
  const exportId = fields.exportId ?? fields.pathParameters?.id;
  if (typeof exportId === 'string') keys.exportId = exportId;
  if (typeof fields.userId === 'string') keys.userIdHash = userIdHash(fields.userId);
  if (typeof fields.sourceId === 'string') keys.sourceId = fields.sourceId;
  return keys;
}

/**
 * The middy middlewares of a handler's observability, outermost first: the Lambda context and the
 * event's keys on every log line (cleared after each invocation, so no key outlives its export), a
 * trace segment around the handler, metrics flushed when it ends (also when it fails), and the
 * failure logged once, with its stack and cause.
 */
export function observe(observability: Observability, step: string, options: { emitsMetrics?: boolean } = {}): middy.MiddlewareObj[] {
  const { logger, metrics, tracer } = observability;
  return [
    injectLambdaContext(logger, { resetKeys: true }),
    { before: (request) => void logger.appendKeys(eventKeys(request.event)) },
    captureLambdaHandler(tracer, { captureResponse: false }),
    ...(options.emitsMetrics ? [logMetrics(metrics)] : []),
    { onError: (request) => void logger.error(`${step} failed`, request.error as Error) },
  ];
}

// The support API from a terminal: requests signed with SigV4 (standard AWS credentials against a
// deployed stack, the embedded stack's support identity with --local), answers parsed, refusals turned
// into errors that carry the API's own sentence.
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { ExportView } from '../lambdas/core/api/exports-api.ts';
import type { AuditEvent } from '../lambdas/core/jobs/job-model.ts';
import { signRequest } from './signed-request.ts';

export type { AuditEvent, ExportView };

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface ApiTarget {
  apiUrl: string;
  region: string;
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
}

export class SupportClient {
  constructor(private readonly target: ApiTarget) {}

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = new URL(path, this.target.apiUrl.endsWith('/') ? this.target.apiUrl : `${this.target.apiUrl}/`);
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = text === undefined ? {} : { 'content-type': 'application/json' };
    const credentials = typeof this.target.credentials === 'function' ? await this.target.credentials() : this.target.credentials;
    const signed = await signRequest({ method, url, headers, body: text }, credentials, this.target.region);
    const { host: _host, ...sendable } = signed;
    let response: Response;
    try {
      response = await fetch(url, { method, headers: sendable, body: text });
    } catch (error) {
      throw new ApiError(0, `Cannot reach the export API at ${this.target.apiUrl}: ${(error as Error).message}.`);
    }
    const payload = (await response.json().catch(() => ({}))) as { message?: string };
    if (!response.ok) {
      const retry = response.headers.get('retry-after');
      throw new ApiError(response.status, `${payload.message ?? response.statusText}${retry ? ` (retry after ${retry} s)` : ''}`);
    }
    return payload as T;
  }

  start(input: { userId: string; reason: string; format?: string; categories?: string[]; since?: string; until?: string }): Promise<ExportView> {
    return this.request('POST', 'support/exports', input);
  }

  get(exportId: string): Promise<ExportView> {
    return this.request('GET', `support/exports/${encodeURIComponent(exportId)}`);
  }

  async list(userId: string): Promise<ExportView[]> {
    return (await this.request<{ exports: ExportView[] }>('GET', `support/users/${encodeURIComponent(userId)}/exports`)).exports;
  }

  resend(exportId: string, reason?: string): Promise<ExportView> {
    return this.request('POST', `support/exports/${encodeURIComponent(exportId)}/resend`, reason ? { reason } : {});
  }

  cancel(exportId: string, reason?: string): Promise<ExportView> {
    return this.request('DELETE', `support/exports/${encodeURIComponent(exportId)}`, reason ? { reason } : {});
  }

  /** One page of the customer's audit trail, oldest first; `nextCursor` fetches the next. */
  auditPage(userId: string, page: { limit?: number; cursor?: string } = {}): Promise<{ events: AuditEvent[]; nextCursor?: string }> {
    // encodeURIComponent, not URLSearchParams (which sends a space as "+"): what is sent is what is signed.
    const query = Object.entries({ limit: page.limit === undefined ? undefined : String(page.limit), cursor: page.cursor })
      .filter((entry): entry is [string, string] => entry[1] !== undefined)
      .map(([key, value]) => `${key}=${encodeURIComponent(value)}`)
      .join('&');
    return this.request('GET', `support/users/${encodeURIComponent(userId)}/audit${query ? `?${query}` : ''}`);
  }

  /** The whole audit trail, page after page. */
  async audit(userId: string): Promise<AuditEvent[]> {
    const events: AuditEvent[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.auditPage(userId, { limit: 100, cursor });
      events.push(...page.events);
      cursor = page.nextCursor;
    } while (cursor);
    return events;
  }
}

// `npm run local`'s server: the embedded stack with its API on localhost, plus what only a local stack
// needs: a sign-in that issues the account page's JWTs, the account page itself, and an inbox that
// shows what local SES received. Used by bin/local.ts and by the browser test.
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { userExists } from '../lambdas/core/api/exports-api.ts';
import { findRecipient } from '../lambdas/core/lifecycle/export-lifecycle.ts';
import { escapeHtml } from '../lambdas/core/delivery/wording.ts';
import { userIdSchema } from '../lambdas/core/data-map/identifiers.ts';
import { categoryPolicy } from '../lambdas/core/data-map/data-map.ts';
import { CATEGORIES } from '../lambdas/core/data-map/privacy-policy.ts';
import { buildDemoSeed, DEMO_USERS } from './demo-seed.ts';
import { EmbeddedStack, LOCAL_REGION, type EmbeddedStackOptions } from './embedded-stack.ts';
import type { Seed } from './seed.ts';
import { writeEndpointFile } from '../cli/target.ts';

const ACCOUNT_PAGE = fileURLToPath(new URL('./account-page.html', import.meta.url));
/** The page's stylesheet and script, served beside it. */
const ACCOUNT_PAGE_ASSETS = { '/account-page.css': 'text/css; charset=utf-8', '/account-page.js': 'text/javascript; charset=utf-8' } as const;

export interface LocalServerOptions extends Omit<EmbeddedStackOptions, 'dataMapFile'> {
  dataMapFile?: string;
  seed?: Seed;
  /** Users offered on the sign-in screen (default: the demo users, with the built-in seed). */
  users?: string[];
  /** Where the CLI's --local finds this stack. */
  endpointFile?: string;
}

export interface LocalServer {
  stack: EmbeddedStack;
  url: string;
  stop(): Promise<void>;
}

const html = (status: number, body: string): APIGatewayProxyStructuredResultV2 => ({
  statusCode: status,
  headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
  body,
});
const json = (status: number, body: unknown): APIGatewayProxyStructuredResultV2 => ({
  statusCode: status,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  body: JSON.stringify(body),
});

/** Text with its URLs as links (the email's download link must be clickable in the inbox). */
function linkify(text: string): string {
  return escapeHtml(text).replace(/https?:\/\/[^\s<]+/g, (url) => `<a href="${url}" data-testid="email-link">${url}</a>`);
}

export async function startLocalServer(options: LocalServerOptions = {}): Promise<LocalServer> {
  const stack = await EmbeddedStack.start({ ...options, dataMapFile: options.dataMapFile ?? 'config/data-map.json' });
  try {
    await stack.loadSeed(options.seed ?? buildDemoSeed());
    const users = options.users ?? (options.seed ? [] : [...DEMO_USERS]);
    // JSON inside <script>: "<" escaped, so no title from the data map can close the element.
    const inScript = (value: unknown) => JSON.stringify(value).replaceAll('<', '\\u003c');
    const categories = CATEGORIES.filter((c) => stack.dataMap.sources.some((s) => s.category === c)).map((c) => [c, categoryPolicy(stack.dataMap, c).title]);
    const page = readFileSync(ACCOUNT_PAGE, 'utf8').replace('__USERS__', inScript(users)).replace('__CATEGORIES__', inScript(categories));
    const signInBody = z.object({ userId: userIdSchema }).strict();

    stack.gateway.add({ method: 'GET', path: '/', handler: () => () => Promise.resolve(html(200, page)) });
    for (const [path, contentType] of Object.entries(ACCOUNT_PAGE_ASSETS)) {
      const body = readFileSync(fileURLToPath(new URL(`.${path}`, import.meta.url)), 'utf8');
      stack.gateway.add({
        method: 'GET',
        path,
        handler: () => () => Promise.resolve({ statusCode: 200, headers: { 'content-type': contentType, 'cache-control': 'no-store' }, body }),
      });
    }
    stack.gateway.add({
      method: 'POST',
      path: '/local/sign-in',
      handler: () => async (event) => {
        let parsed;
        try {
          parsed = signInBody.safeParse(JSON.parse(event.body ?? '{}'));
        } catch {
          return json(400, { message: 'The request body is not valid JSON.' });
        }
        if (!parsed.success) return json(400, { message: `"userId" ${parsed.error.issues[0]?.message ?? 'is required'}.` });
        const { userId } = parsed.data;
        if (!(await userExists(userId, { dataMap: stack.dataMap, dynamodb: stack.dynamodb }))) {
          return json(404, { message: `There is no account "${userId}" in the local data.` });
        }
        const email = await findRecipient(stack.dataMap, stack.dynamodb, userId);
        return json(200, { token: stack.identity.issueToken(userId, email), userId, email: email ?? null });
      },
    });
    stack.gateway.add({ method: 'GET', path: '/local/emails', handler: () => async () => json(200, { emails: (await stack.inbox.emails()).reverse() }) });
    stack.gateway.add({
      method: 'GET',
      path: '/local/inbox',
      handler: () => async () => {
        const emails = (await stack.inbox.emails()).reverse();
        const items = emails
          .map(
            (e) => `<article data-testid="email"><h2>${escapeHtml(e.subject)}</h2>
<p class="meta">To ${escapeHtml(e.destination.to.join(', '))} · from ${escapeHtml(e.from)} · ${new Date(e.at * 1000).toUTCString()}</p>
<pre>${linkify(e.body.text ?? '')}</pre></article>`,
          )
          .join('\n');
        return html(
          200,
          `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Local inbox</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem}article{border:1px solid #ddd;border-radius:8px;padding:0 1rem;margin:1rem 0}.meta{color:#666}pre{white-space:pre-wrap}</style></head>
<body><h1>Local inbox</h1><p>Every email the embedded stack sent (local SES), newest first. <a href="/">Back to the account page</a></p>
${items || '<p>No email yet.</p>'}</body></html>`,
        );
      },
    });

    if (options.endpointFile) {
      writeEndpointFile(options.endpointFile, {
        apiUrl: stack.baseUrl,
        region: LOCAL_REGION,
        accessKeyId: stack.identity.supportCredentials.accessKeyId,
        secretAccessKey: stack.identity.supportCredentials.secretAccessKey,
      });
    }
    return { stack, url: stack.baseUrl, stop: () => stack.stop() };
  } catch (error) {
    await stack.stop();
    throw error;
  }
}

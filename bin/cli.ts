// user-data-export: the support and engineering CLI. Every command talks to the support API (IAM
// auth), of a deployed stack or, with --local, of the embedded stack that `npm run local` runs.
import { parseArgs } from 'node:util';
import { ApiError, SupportClient, type ExportView } from '../cli/support-client.ts';
import { renderAudit, renderList, renderStatus, statusInWords } from '../cli/render.ts';
import { resolveTarget, TargetError } from '../cli/target.ts';

const USAGE = `Usage: user-data-export <command> [options]

Commands:
  start --user U --reason R [--format json|csv|both] [--categories a,b | --category C ...]
        [--since T] [--until T]      start an export for a customer: all categories by default; a
                                     date range (ISO 8601, both ends included) for the sources that
                                     name a timeAttribute
  status ID                          the export's state and per-source progress
  wait ID [--interval SECONDS]       follow an export live until it ends (exit 0 when READY)
  list --user U                      the customer's exports, newest first
  resend ID [--reason R]             email a fresh link (the previous link stops working)
  cancel ID [--reason R]             stop a queued or running export
  audit --user U [--limit N [--cursor C]]
                                     who started, cancelled, resent, failed and downloaded what
                                     (every page; with --limit, one page and the cursor of the next)

Where:
  --local                 the embedded stack of \`npm run local\` (endpoint file .local/endpoint.json)
  --endpoint-file FILE    another embedded stack's endpoint file
  --api URL               a deployed stack's API URL (default: $USER_DATA_EXPORT_API_URL, or the
                          ApiUrl output of --stack, default UserDataExport); AWS credentials as usual
  --json                  machine-readable output`;

class UsageError extends Error {}

const { values, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        user: { type: 'string' },
        reason: { type: 'string' },
        format: { type: 'string', default: 'both' },
        category: { type: 'string', multiple: true },
        categories: { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
        interval: { type: 'string', default: '1' },
        local: { type: 'boolean', default: false },
        'endpoint-file': { type: 'string' },
        api: { type: 'string' },
        limit: { type: 'string' },
        cursor: { type: 'string' },
        stack: { type: 'string', default: 'UserDataExport' },
        region: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
})();

const print = (human: string, machine: unknown) => console.log(values.json ? JSON.stringify(machine, null, 2) : human);
const need = (value: string | undefined, what: string): string => {
  if (!value) throw new UsageError(`${what} is required.`);
  return value;
};

async function waitFor(client: SupportClient, exportId: string): Promise<ExportView> {
  const interval = Math.max(0.2, Number(values.interval) || 1) * 1000;
  const live = process.stdout.isTTY && !values.json;
  let drawn = 0;
  let last = '';
  for (;;) {
    const job = await client.get(exportId);
    const view = renderStatus(job);
    if (live) {
      // Redraw the block in place: move up over what was drawn, clear to the end of the screen.
      process.stdout.write(`${drawn > 0 ? `\x1b[${drawn}A` : ''}\x1b[J${view}\n`);
      drawn = view.split('\n').length;
    } else if (!values.json && view !== last) {
      console.log(`${view}\n`);
    }
    last = view;
    if (!['QUEUED', 'RUNNING'].includes(job.status)) return job;
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

async function main(): Promise<number> {
  const [command, id] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const target = await resolveTarget({ local: values.local, endpointFile: values['endpoint-file'], api: values.api, stack: values.stack, region: values.region });
  const client = new SupportClient(target);
  switch (command) {
    case 'start': {
      const categories = [...(values.category ?? []), ...(values.categories?.split(',').map((c) => c.trim()) ?? [])];
      const job = await client.start({
        userId: need(values.user, '--user'),
        reason: need(values.reason, '--reason'),
        format: values.format,
        ...(categories.length > 0 ? { categories } : {}),
        ...(values.since !== undefined ? { since: values.since } : {}),
        ...(values.until !== undefined ? { until: values.until } : {}),
      });
      print(`Started export ${job.exportId} for user ${job.userId} (${statusInWords(job)}). Follow it with: user-data-export wait ${job.exportId}`, job);
      return 0;
    }
    case 'status': {
      const job = await client.get(need(id, 'The export id'));
      print(renderStatus(job), job);
      return 0;
    }
    case 'wait': {
      const job = await waitFor(client, need(id, 'The export id'));
      if (values.json) print('', job);
      return job.status === 'READY' ? 0 : 1;
    }
    case 'list': {
      const jobs = await client.list(need(values.user, '--user'));
      print(renderList(jobs), jobs);
      return 0;
    }
    case 'resend': {
      const job = await client.resend(need(id, 'The export id'), values.reason);
      print(`Sent a new link for export ${job.exportId}; it works until ${job.linkExpiresAt}. The previous link no longer works.`, job);
      return 0;
    }
    case 'cancel': {
      const job = await client.cancel(need(id, 'The export id'), values.reason);
      print(`Cancelled export ${job.exportId}.`, job);
      return 0;
    }
    case 'audit': {
      const user = need(values.user, '--user');
      if (values.limit === undefined) {
        if (values.cursor !== undefined) throw new UsageError('--cursor goes with --limit (one page at a time).');
        const events = await client.audit(user);
        print(renderAudit(events), events);
        return 0;
      }
      const limit = Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new UsageError('--limit must be a whole number from 1 to 100.');
      const page = await client.auditPage(user, { limit, cursor: values.cursor });
      const more = page.nextCursor ? `\nMore: user-data-export audit --user ${user} --limit ${limit} --cursor ${page.nextCursor}` : '';
      print(`${renderAudit(page.events)}${more}`, page);
      return 0;
    }
    default:
      throw new UsageError(`Unknown command "${command}".`);
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`${error.message}\n\n${USAGE}`);
      process.exit(2);
    }
    const message = error instanceof ApiError || error instanceof TargetError ? error.message : `Unexpected failure: ${(error as Error).message}`;
    if (values.json) console.log(JSON.stringify({ error: message, status: error instanceof ApiError ? error.status : null }));
    else console.error(message);
    process.exit(1);
  },
);

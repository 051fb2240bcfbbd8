// `npm run demo`: the whole export on the embedded stack, end to end, exactly as the README's "Two commands" says.
// Starts the emulators, creates the data map's tables and buckets, loads the seed, runs the real
// workflow, reads the email from local SES, follows its link through the download endpoint, saves and
// verifies the ZIP, and prints its path. Exit code 0 only when every step worked.
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CATEGORIES } from '../lambdas/core/data-map/privacy-policy.ts';
import { findRecipient } from '../lambdas/core/lifecycle/export-lifecycle.ts';
import { formatsFromChoice } from '../lambdas/core/data-map/identifiers.ts';
import { formatBytes } from '../lambdas/core/delivery/wording.ts';
import { verifyArchive } from '../local/archive-reader.ts';
import { buildDemoSeed, DEMO_USER_ID } from '../local/demo-seed.ts';
import { EmbeddedStack } from '../local/embedded-stack.ts';
import { loadSeedFile, type Seed } from '../local/seed.ts';
import { answerProblems, assertAnswerable, loadDataMapFile, statesLegalFacts } from '../lambdas/core/data-map/data-map.ts';
import { startBodySchema } from '../lambdas/core/api/exports-api.ts';

const USAGE = `Usage: npm run demo -- [--user ID] [--data-map FILE] [--seed FILE] [--format json|csv|both] [--categories a,b] [--since T] [--until T] [--out DIR] [--email ADDRESS]

  --user      the user to export (default: ${DEMO_USER_ID} with the built-in seed; required with --seed)
  --data-map  the data map (default: config/data-map.json)
  --seed      a seed file of tables and objects (default: built-in demo data)
  --format    json, csv or both (default: both)
  --categories  which categories to export, comma-separated (default: all): ${CATEGORIES.join(', ')}
  --since, --until  a date range (ISO 8601, e.g. 2026-01-31 or 2026-01-31T09:00:00Z), both ends included,
              for the sources that name a timeAttribute; the others are exported whole
  --out       where to save the ZIP (default: demo-output)
  --email     where to send the link (default: the address on file in the data, else demo-user@example.com)`;

class UsageError extends Error {}

function parseCommandLine() {
  const { values } = parseArgs({
    options: {
      user: { type: 'string' },
      'data-map': { type: 'string' },
      seed: { type: 'string' },
      format: { type: 'string', default: 'both' },
      categories: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      out: { type: 'string', default: 'demo-output' },
      email: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const format = values.format ?? 'both';
  if (format !== 'json' && format !== 'csv' && format !== 'both') throw new UsageError(`--format must be json, csv or both, not "${format}".`);
  if (values.seed && !values.user) throw new UsageError('--user is required with --seed: name the user whose data to export.');
  // The same rules, and the same words, as the API's start body.
  const choice = startBodySchema.safeParse({
    format,
    ...(values.categories !== undefined ? { categories: values.categories.split(',').map((c) => c.trim()) } : {}),
    ...(values.since !== undefined ? { since: values.since } : {}),
    ...(values.until !== undefined ? { until: values.until } : {}),
  });
  if (!choice.success) {
    const issue = choice.error.issues[0];
    throw new UsageError(`--${String(issue?.path[0] ?? 'format')} ${issue?.message ?? 'is invalid'}.`);
  }
  const { categories, since, until } = choice.data;
  return {
    categories,
    since,
    until,
    user: values.user ?? DEMO_USER_ID,
    dataMapFile: resolve(values['data-map'] ?? 'config/data-map.json'),
    seedFile: values.seed ? resolve(values.seed) : undefined,
    formats: formatsFromChoice(format),
    outDir: resolve(values.out ?? 'demo-output'),
    email: values.email,
  };
}

const started = performance.now();
const step = (message: string) => console.log(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)}s] ${message}`);

async function main(): Promise<void> {
  const options = parseCommandLine();
  // Validate both files before anything starts, so a mistake costs nothing.
  const dataMap = loadDataMapFile(options.dataMapFile);
  if (statesLegalFacts(dataMap)) assertAnswerable(dataMap, `The data map file ${options.dataMapFile}`);
  const seed: Seed = options.seedFile ? loadSeedFile(options.seedFile) : buildDemoSeed();
  const categories = CATEGORIES.filter((c) => dataMap.sources.some((s) => s.category === c));
  step(`Data map ${options.dataMapFile}: ${dataMap.sources.length} sources in ${categories.length} categories (${categories.join(', ')})`);
  const unstated = answerProblems(dataMap);
  if (unstated.length > 0) {
    step(`Warning: the data map states no legal facts, so the answer in the archive says it is incomplete; synth refuses such a map. Missing:\n  ${unstated.join('\n  ')}`);
  }

  const stack = await EmbeddedStack.start({ dataMapFile: options.dataMapFile });
  try {
    const databases = Object.keys(dataMap.databases ?? {}).map((name) => `PostgreSQL "${name}" (PGlite) :${String(stack.standIns.database(name).port)}`);
    const pools = stack.endpoints.cognito ? [`Cognito ${stack.endpoints.cognito}`] : [];
    step(
      `Embedded stack up: ${[`DynamoDB ${stack.endpoints.dynamodb}`, `S3 ${stack.endpoints.s3}`, `SES ${stack.endpoints.ses}`, ...databases, ...pools, `API ${stack.baseUrl}`].join(', ')}`,
    );
    const loaded = await stack.loadSeed(seed, options.seedFile ? `The seed file ${options.seedFile}` : 'The built-in demo seed');
    step(`Seed loaded: ${loaded.items} items, ${loaded.objects} objects, ${loaded.statements} SQL statements, ${loaded.users} Cognito users`);

    const email = options.email ?? (await findRecipient(dataMap, stack.dynamodb, options.user)) ?? 'demo-user@example.com';
    const job = await stack.startExport({
      userId: options.user,
      formats: options.formats,
      categories: options.categories,
      since: options.since,
      until: options.until,
      email,
      actor: { id: 'demo-cli', role: 'operator', reason: 'npm run demo' },
    });
    const chosen = [
      options.categories ? options.categories.join(', ') : 'every category',
      options.since ? `since ${options.since}` : '',
      options.until ? `until ${options.until}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    step(`Export ${job.exportId} started for user ${options.user} (${options.formats.join(' + ')}; ${chosen}), link to ${email}`);

    const { outcome, job: finished } = await stack.waitForExport(job.exportId);
    if (finished.status !== 'READY') {
      throw new Error(`The export ended ${finished.status}: ${finished.failureReason ?? (outcome.status === 'FAILED' ? outcome.cause : outcome.status)}`);
    }
    const records = Object.values(finished.sources).reduce((sum, s) => sum + s.records, 0);
    step(`Workflow succeeded: ${records} records from ${Object.keys(finished.sources).length} sources, archive ${formatBytes(finished.archiveBytes ?? 0)}`);

    const { email: message, zip } = await stack.inbox.downloadFromEmail(email, job.exportId);
    step(`Email to ${email}: "${message.subject}"`);
    mkdirSync(options.outDir, { recursive: true });
    const zipPath = resolve(options.outDir, `user-data-export-${options.user.replace(/[^A-Za-z0-9._-]/g, '_')}-${job.exportId}.zip`);
    writeFileSync(zipPath, zip);
    step(`Downloaded through the link (302 to a presigned URL valid 60 s): ${formatBytes(zip.length)}`);

    const check = await verifyArchive(zipPath);
    if (check.problems.length > 0) throw new Error(`The archive does not match its manifest or datapackage.json:\n  ${check.problems.join('\n  ')}`);
    const inside = CATEGORIES.filter((c) => check.manifest.sources.some((s) => s.category === c));
    step(`Archive verified: ${check.entries} entries, every sha256 matches manifest.json, about-this-export.json and datapackage.json valid; categories: ${inside.join(', ')}`);
    console.log(zipPath);
  } finally {
    await stack.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    // A person reads this: the sentence, not a stack trace (DEBUG=1 shows the trace).
    const message = error instanceof Error ? error.message : String(error);
    console.error(`\ndemo failed: ${message}`);
    if (error instanceof UsageError || ((error as Error).name === 'TypeError' && /parseArgs|Unknown option/.test(message))) console.error(`\n${USAGE}`);
    if (process.env.DEBUG) console.error(error);
    process.exit(1);
  },
);

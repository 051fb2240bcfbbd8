// The CloudFormation template the embedded stack enforces: the real CDK stack, synthesized for the data
// map and settings the local stack runs with (bundling skipped: IAM does not depend on the code bundle),
// together with the logical ids of the resources the local stack stands in for. Synthesis takes seconds,
// so a template is cached on disk under a hash of everything it depends on: a test run synthesizes each
// distinct data map once, and any change to lib/, lambdas/, the state machine or the map makes a new one.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { UserDataExportStack } from '../../lib/user-data-export-stack.ts';
import { withLocalStandIns } from './local-resources.ts';

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}

export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
}

/** Logical ids of the resources the embedded stack plays, keyed by what they are. */
export interface StackResourceIds {
  /** Each function by its construct id (UserApi, CollectSource, …). */
  functions: Record<string, string>;
  jobsTable: string;
  exportBucket: string;
  dataKey: string;
  linkKey: string;
  stateMachine: string;
  /** The daily sweep's schedule, whose role invokes SweepExports. */
  sweepSchedule: string;
}

export interface SynthesizedStack {
  template: CfnTemplate;
  ids: StackResourceIds;
}

/**
 * The settings the template's grants and variables depend on: the data map (grants derive from it), the
 * sender (the SES condition) and whether archives are split (BundleArchive's MAX_ARCHIVE_BYTES). The rest
 * of the context (retention, link lifetime) only sets values, so cdk.json's own serve, and tests may run
 * the stack with values synth would refuse (a retention of seconds).
 */
export interface StackSettings {
  dataMapFile: string;
  senderEmail: string;
  /** Whether BundleArchive is given MAX_ARCHIVE_BYTES at all (its value is the local stack's own). */
  maxArchiveBytes?: number;
}

const ROOT = resolve(import.meta.dirname, '..', '..');
const CACHE_DIR = join(ROOT, 'node_modules', '.cache', 'user-data-export', 'templates');
/** What the template is made from: the CDK code, the handlers (the data map schema, shared constants), the ASL. */
const INPUTS = ['lib', 'lambdas', 'state-machines', 'cdk.json', 'package-lock.json'];

function filesUnder(path: string): string[] {
  const full = join(ROOT, path);
  try {
    return readdirSync(full, { withFileTypes: true })
      .sort((a, b) => a.name.localeCompare(b.name))
      .flatMap((entry) => (entry.isDirectory() ? filesUnder(join(path, entry.name)) : [join(path, entry.name)]));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return [path];
    throw error;
  }
}

function cacheKey(settings: StackSettings): string {
  const hash = createHash('sha256');
  for (const file of INPUTS.flatMap(filesUnder))
    hash
      .update(file)
      .update('\0')
      .update(readFileSync(join(ROOT, file)))
      .update('\0');
  hash.update(JSON.stringify({ ...settings, dataMapFile: undefined })).update(readFileSync(settings.dataMapFile));
  return hash.digest('hex').slice(0, 32);
}

const inProcess = new Map<string, Promise<SynthesizedStack>>();

/** The stack's template for these settings, from the cache when nothing it depends on has changed. */
export function synthesizedStack(settings: StackSettings): Promise<SynthesizedStack> {
  const key = cacheKey(settings);
  let stack = inProcess.get(key);
  if (!stack) {
    stack = load(key, settings);
    inProcess.set(key, stack);
  }
  return stack;
}

async function load(key: string, settings: StackSettings): Promise<SynthesizedStack> {
  const file = join(CACHE_DIR, `${key}.json`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SynthesizedStack;
  } catch {
    // Not cached yet (or cut short by a crash): synthesize.
  }
  const synthesized = await synthesize(settings);
  mkdirSync(CACHE_DIR, { recursive: true });
  // Written whole, then renamed: parallel test processes never read half a file.
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, JSON.stringify(synthesized));
  renameSync(partial, file);
  return synthesized;
}

/**
 * The data map file the template is synthesized from: the map itself when every database and user pool
 * has its `aws` block, else a copy with local stand-ins for the missing ones (withLocalStandIns), written
 * under the cache by its content, so the same map always gives the same file and the same template.
 */
function synthesisMapFile(dataMapFile: string): string {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(dataMapFile, 'utf8'));
  } catch {
    return dataMapFile; // Unreadable or not JSON: synthesis reports it as the data map's error.
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return dataMapFile;
  const text = JSON.stringify(raw);
  const derived = JSON.stringify(withLocalStandIns(raw as Record<string, unknown>));
  if (derived === text) return dataMapFile;
  const file = join(CACHE_DIR, 'data-maps', `${createHash('sha256').update(derived).digest('hex').slice(0, 32)}.json`);
  mkdirSync(dirname(file), { recursive: true });
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, derived);
  renameSync(partial, file);
  return file;
}

/** Synthesizes the stack in this process; aws-cdk-lib is loaded only when a template is not cached. */
export async function synthesize(settings: StackSettings, adjust?: (stack: UserDataExportStack) => void): Promise<SynthesizedStack> {
  const [{ App, Stack }, { parseAppConfig }, { UserDataExportStack }, { HouseFunction }] = await Promise.all([
    import('aws-cdk-lib'),
    import('../../lib/app-config.ts'),
    import('../../lib/user-data-export-stack.ts'),
    import('../../lib/house-function.ts'),
  ]);
  const cdkJson = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  const context = { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] };
  const config = parseAppConfig({ ...cdkJson.context, alarmEmail: 'ops@example.com', ...settings, dataMapFile: synthesisMapFile(settings.dataMapFile) });
  const app = new App({ context });
  // The embedded stack decides for itself which maps may answer (a map with no legal facts yet still runs).
  const stack = new UserDataExportStack(app, 'UserDataExport', { config, requireCompleteAnswer: false });
  adjust?.(stack);
  const logicalId = (construct: { node: { defaultChild?: unknown } }) => Stack.of(stack).getLogicalId(construct.node.defaultChild as never);
  const functions = Object.fromEntries(
    stack.node
      .findAll()
      .filter((c): c is InstanceType<typeof HouseFunction> => c instanceof HouseFunction)
      .map((fn) => [fn.node.id, logicalId(fn)]),
  );
  const template = app.synth().getStackByName(stack.stackName).template as CfnTemplate;
  return {
    template,
    ids: {
      functions,
      jobsTable: logicalId(stack.jobs.table),
      exportBucket: logicalId(stack.storage.bucket),
      dataKey: logicalId(stack.storage.dataKey),
      linkKey: logicalId(stack.linkSigning.key),
      stateMachine: logicalId(stack.workflow.stateMachine),
      sweepSchedule: Stack.of(stack).getLogicalId(stack.sweeper.schedule),
    },
  };
}

// Where the export workflow's ASL lives: the CDK stack deploys this file and the local runner runs it.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const EXPORT_DEFINITION_FILE = fileURLToPath(new URL('./export.asl.json', import.meta.url));

/** The whole machine's TimeoutSeconds, read from the file, so whoever needs it (the sweeper) never holds a copy. */
export function exportTimeoutSeconds(): number {
  const { TimeoutSeconds } = JSON.parse(readFileSync(EXPORT_DEFINITION_FILE, 'utf8')) as { TimeoutSeconds?: unknown };
  if (typeof TimeoutSeconds !== 'number' || TimeoutSeconds <= 0) throw new Error(`${EXPORT_DEFINITION_FILE} has no TimeoutSeconds on the whole machine.`);
  return TimeoutSeconds;
}

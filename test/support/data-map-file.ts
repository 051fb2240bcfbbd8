// The data map a test's stack runs with, written as the file the stack, the CLI and the CDK app read.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { answerable } from './answer-facts.ts';

/** Writes `{ sources }`, with the demo's legal facts, as `name` in `dir` and returns the file's path. */
export function writeDataMap(dir: string, sources: object[], name = 'map.json'): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(answerable({ sources })));
  return file;
}

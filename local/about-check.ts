// Checks an archive's about-this-export.json against its published JSON Schema
// (docs/schemas/about-this-export.schema.json), and that it speaks of the archive it is in.
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import ajvFormats from 'ajv-formats';
import type { Manifest } from '../lambdas/core/archive/manifest.ts';

const SCHEMA = new URL('../docs/schemas/about-this-export.schema.json', import.meta.url);
let validate: ValidateFunction | undefined;

export function aboutProblems(text: string | undefined, manifest: Manifest): string[] {
  if (text === undefined) return ['the archive has no about-this-export.json'];
  if (!validate) {
    const ajv = new Ajv({ allErrors: true, strict: true });
    (ajvFormats as unknown as (ajv: Ajv) => void)(ajv);
    validate = ajv.compile(JSON.parse(readFileSync(SCHEMA, 'utf8')) as object);
  }
  let about: { exportId?: unknown; userId?: unknown; categories?: { sources?: string[] }[] };
  try {
    about = JSON.parse(text) as typeof about;
  } catch (error) {
    return [`about-this-export.json is not JSON: ${(error as Error).message}`];
  }
  if (!validate(about)) return (validate.errors ?? []).map((e) => `about-this-export.json${e.instancePath} ${e.message ?? 'is invalid'}`);
  const problems: string[] = [];
  if (about.exportId !== manifest.exportId || about.userId !== manifest.userId) problems.push('about-this-export.json names another export or user than manifest.json');
  const answered = new Set((about.categories ?? []).flatMap((c) => c.sources ?? []));
  for (const source of manifest.sources) if (!answered.has(source.sourceId)) problems.push(`about-this-export.json says nothing of source "${source.sourceId}"`);
  return problems;
}

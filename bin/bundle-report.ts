// After `cdk synth`: each Lambda bundle's size, since bundle size is cold-start time.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const OUT = 'cdk.out';
const template = JSON.parse(readFileSync(join(OUT, 'UserDataExport.template.json'), 'utf8')) as {
  Resources: Record<string, { Type: string; Metadata?: Record<string, string>; Properties: { Description?: string } }>;
};
const kb = (bytes: number) => `${(bytes / 1024).toFixed(0).padStart(6)} KB`;

const rows = Object.entries(template.Resources)
  .filter(([, r]) => r.Type === 'AWS::Lambda::Function' && r.Metadata?.['aws:asset:path'])
  .map(([id, r]) => {
    const dir = join(OUT, r.Metadata?.['aws:asset:path'] ?? '');
    const files = readdirSync(dir).map((f) => ({ name: f, bytes: statSync(join(dir, f)).size }));
    const code = files.find((f) => f.name === 'index.mjs')?.bytes ?? 0;
    return { name: r.Metadata?.['aws:cdk:path']?.split('/').at(-2) ?? id, code, total: files.reduce((sum, f) => sum + f.bytes, 0) };
  })
  .sort((a, b) => a.name.localeCompare(b.name));

console.log('\nLambda bundles (index.mjs is what loads at cold start; the total adds the source map and data map):');
for (const row of rows) console.log(`  ${row.name.padEnd(16)} ${kb(row.code)}   total ${kb(row.total)}`);

// One export on an embedded stack, start to download, as the user gets it: started, waited for (it
// must end READY, else the test fails with the reason), its link followed from the local inbox, the ZIP
// saved in `outDir` and read back with its manifest and answer.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { AboutThisExport } from '../../lambdas/core/archive/about-this-export.ts';
import type { Manifest } from '../../lambdas/core/archive/manifest.ts';
import type { StartRequest } from '../../lambdas/core/lifecycle/export-lifecycle.ts';
import { readArchive } from '../../local/archive-reader.ts';
import type { EmbeddedStack } from '../../local/embedded-stack.ts';

export async function exportAndDownload(stack: EmbeddedStack, request: Omit<StartRequest, 'actor' | 'email'> & Partial<Pick<StartRequest, 'actor'>>, outDir: string) {
  const email = `${request.userId}@example.com`;
  const job = await stack.startExport({ actor: { id: 'test', role: 'operator' }, ...request, email });
  const { job: finished } = await stack.waitForExport(job.exportId);
  expect(finished.status, finished.failureReason).toBe('READY');
  const { zip } = await stack.inbox.downloadFromEmail(email, job.exportId);
  const path = join(outDir, `${job.exportId}.zip`);
  writeFileSync(path, zip);
  const entries = await readArchive(path);
  const json = <T>(name: string) => JSON.parse(entries.get(name)?.toString('utf8') ?? 'null') as T;
  return { job: finished, zip, path, entries, manifest: json<Manifest>('manifest.json'), about: json<AboutThisExport>('about-this-export.json'), json };
}

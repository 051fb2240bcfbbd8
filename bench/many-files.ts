// A user with many uploaded files, end to end on the embedded stack: from starting the export to its
// email in local SES. The objects are loaded first (not timed). Files are small, so the figure is the
// per-file cost: listing, copying into staging, one ZIP entry each, index.html and manifest.json.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EmbeddedStack } from '../local/embedded-stack.ts';
import type { StageResult } from './stages.ts';

const USER = 'u-files';
const EMAIL = 'files@example.com';

export async function manyFilesStage(files: number, workDir: string): Promise<StageResult & { files: number }> {
  const mapFile = join(workDir, 'files-map.json');
  writeFileSync(
    mapFile,
    JSON.stringify({
      sources: [
        { id: 'user-profile', category: 'account', type: 'dynamodb', table: 'Users', partitionKey: 'userId', keyTemplate: '{userId}' },
        { id: 'attachments', category: 'communication', type: 's3', bucket: 'uploads', prefix: 'users/{userId}/' },
      ],
    }),
  );
  const stack = await EmbeddedStack.start({ dataMapFile: mapFile });
  try {
    // Names as people give them: folders, spaces, capitals, accents, the odd emoji.
    const objects = Array.from({ length: files }, (_, n) => ({
      bucket: 'uploads',
      key: `users/${USER}/${['photos', 'Documents', 'messages/attachments', 'reçus'][n % 4]}/file ${String(n).padStart(6, '0')}${n % 97 === 0 ? ' 🎉' : ''}.${['jpg', 'pdf', 'txt'][n % 3]}`,
      base64: Buffer.from(`file ${n} of ${USER}\n`).toString('base64'),
    }));
    await stack.loadSeed({ tables: { Users: [{ userId: { S: USER }, email: { S: EMAIL } }] }, schemas: {}, objects });
    const started = performance.now();
    const job = await stack.startExport({ userId: USER, formats: ['json', 'csv'], email: EMAIL, actor: { id: 'bench', role: 'operator' } });
    const { job: done } = await stack.waitForExport(job.exportId);
    if (done.status !== 'READY' || !(await stack.inbox.emailFor(EMAIL, job.exportId))) throw new Error(`the ${files}-file export ended ${done.status}`);
    const seconds = (performance.now() - started) / 1000;
    const exported = done.sources?.attachments?.records;
    if (exported !== files) throw new Error(`the export holds ${exported} of ${files} files`);
    return { stage: 'many files', records: files, files, seconds, bytes: 0, peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024) };
  } finally {
    await stack.stop();
  }
}

// An archive built by the real bundler from staging written straight into the file-backed S3 stand-in:
// a DynamoDB source of records and an S3 source of files with the names a test chooses. For the tests
// that open the archive as people do (the reader suite, index.html in Chromium).
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { itemToJson } from '../../lambdas/core/values/attribute-values.ts';
import { stagedColumns, type ColumnTypes } from '../../lambdas/core/values/column-types.ts';
import { buildUntilDone } from '../../lambdas/core/archive/build-archive.ts';
import { parseDataMap } from '../../lambdas/core/data-map/data-map.ts';
import { archiveKey, columnsKey, partKey, stagedObjectKey } from '../../lambdas/core/storage/object-keys.ts';
import { FileBackedS3 } from '../../local/file-backed-s3.ts';
import { answerable, TEST_REQUEST } from './answer-facts.ts';

export const BUCKET = 'exports';
export const GENERATED_AT = new Date(Date.UTC(2026, 10, 24, 12, 30, 10));

export const stagedDataMap = parseDataMap(
  answerable({
    sources: [
      { id: 'usage-events', category: 'usage', type: 'dynamodb', table: 'UsageEvents', partitionKey: 'userId', keyTemplate: '{userId}', description: 'What you did on the site.' },
      { id: 'attachments', category: 'communication', type: 's3', bucket: 'uploads', prefix: 'users/{userId}/' },
    ],
  }),
);

export interface StagedFile {
  key: string;
  bytes: Buffer;
}

export interface StagedArchiveOptions {
  files: StagedFile[];
  records?: number;
  maxArchiveBytes?: number;
  /** When set, every file's bytes are replaced by this many random (incompressible) bytes. */
  randomFileBytes?: number;
  blockBytes?: number;
}

/** Temporary folders, removed together by `removeAll` (call it in afterAll). */
export class Folders {
  private readonly made: string[] = [];

  make(name: string): string {
    const dir = mkdtempSync(join(tmpdir(), name));
    this.made.push(dir);
    return dir;
  }

  removeAll(): void {
    for (const dir of this.made.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

/** Stages `options.files` and `options.records` records for `exportId`, bundles them, and returns the paths of the archive's parts. */
export async function buildStagedArchive(exportId: string, folders: Folders, options: StagedArchiveOptions) {
  const { randomFileBytes = 0, records: recordCount = 300 } = options;
  const staged = randomFileBytes > 0 ? options.files.map((file) => ({ ...file, bytes: randomBytes(randomFileBytes) })) : options.files;
  const store = new FileBackedS3(folders.make('staged-'));
  mkdirSync(join(store.root, BUCKET), { recursive: true });
  const columns: ColumnTypes = new Map();
  const records = Array.from({ length: recordCount }, (_, n) => ({ userId: { S: 'u-1' }, eventId: { S: `evt-${n}` }, note: { S: `日本 🎉 ${n}` } }));
  writeFileSync(store.path(BUCKET, partKey(exportId, 'usage-events', 0)), records.map((r) => itemToJson(r, columns) + '\n').join(''));
  writeFileSync(store.path(BUCKET, columnsKey(exportId, 'usage-events', 0)), stagedColumns(columns));
  staged.forEach((file, sequence) => writeFileSync(store.path(BUCKET, stagedObjectKey(exportId, 'attachments', sequence)), file.bytes));
  writeFileSync(
    store.path(BUCKET, partKey(exportId, 'attachments', 0)),
    staged.map((f, sequence) => JSON.stringify({ sequence, key: f.key, size: f.bytes.length }) + '\n').join(''),
  );
  const s3 = store.asClient();
  const result = await buildUntilDone(
    {
      exportId,
      userId: 'u-1',
      formats: ['json', 'csv'],
      request: TEST_REQUEST,
      sources: [
        { sourceId: 'usage-events', nextPart: 1, records: records.length },
        { sourceId: 'attachments', nextPart: 1, records: staged.length },
      ],
    },
    {
      s3,
      exportBucket: { s3, bucket: BUCKET, kmsKeyId: 'test' },
      dataMap: stagedDataMap,
      blockBytes: options.blockBytes,
      maxArchiveBytes: options.maxArchiveBytes,
      now: () => GENERATED_AT,
    },
  );
  return { result, parts: Array.from({ length: result.archiveParts }, (_, i) => store.path(BUCKET, archiveKey(exportId, i + 1))) };
}

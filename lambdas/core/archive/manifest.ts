// manifest.json (docs/architecture.md): what the archive holds, and proof of it (bytes and sha256 of every file).
import type { Format } from '../data-map/identifiers.ts';
import type { Category } from '../data-map/privacy-policy.ts';
import type { SourceType } from '../collect/connectors/schemas.ts';

/** The files every archive holds beside the data files, written last and whole; the manifest lists only the data files. */
export const ARCHIVE_DOCUMENTS = { index: 'index.html', about: 'about-this-export.json', manifest: 'manifest.json', datapackage: 'datapackage.json' } as const;

export interface ManifestFile {
  path: string;
  sourceId: string;
  category: Category;
  /** json / csv for records, file for an object of an S3 source. */
  format: Format | 'file';
  /** Records in a json or csv file. */
  records?: number;
  /** Uncompressed size. */
  bytes: number;
  /** sha256 (hex) of the uncompressed bytes. */
  sha256: string;
  /** For files of an S3 source: the object's key relative to the source's prefix. */
  originalKey?: string;
  /** Which part of a split archive holds the file (1 when the archive is not split). */
  archivePart: number;
  /**
   * Set on the second and later pieces of a file that did not fit in one archive part: the path of its
   * first piece. A records file's pieces are each complete JSON or CSV; a file's pieces are its bytes
   * in order, to be joined again (cat a a.part-2 > whole).
   */
  continues?: string;
}

export interface ManifestSource {
  sourceId: string;
  category: Category;
  type: SourceType;
  description?: string;
  /** Every source in an archive is complete: an export with a failed source fails as a whole. */
  status: 'complete';
  /** Records (items, rows, identities, or files of an S3 source) exported. */
  records: number;
  /** Seconds its collector waited for the source's read budgets (0 when it has none). */
  readBudgetWaitSeconds: number;
}

export interface Manifest {
  manifestVersion: 1;
  exportId: string;
  userId: string;
  generatedAt: string;
  formats: Format[];
  sources: ManifestSource[];
  files: ManifestFile[];
  /**
   * How long the export waited: for a slot (admission's maxConcurrentExports) from the request to its
   * execution's start, and for read budgets, summed over its sources (which are read side by side, so
   * this can exceed the time it took).
   */
  waited: { forSlotSeconds: number; forReadBudgetsSeconds: number };
  totals: { records: number; files: number; bytes: number };
}

export function buildManifest(fields: Omit<Manifest, 'manifestVersion' | 'totals'>): Manifest {
  return {
    manifestVersion: 1,
    ...fields,
    totals: {
      records: fields.sources.reduce((sum, s) => sum + s.records, 0),
      files: fields.files.length,
      bytes: fields.files.reduce((sum, f) => sum + f.bytes, 0),
    },
  };
}

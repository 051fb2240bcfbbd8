// Where an export's intermediate and final objects live in the export bucket. Keys are derived only
// from the export id, source id and a sequence number, so a retried step overwrites, never duplicates.
// The prefixes matter to the bucket's lifecycle rules (staging 1 day, archives the retention).

export const STAGING_ROOT = 'staging/';
export const ARCHIVE_ROOT = 'archives/';

const pad = (n: number, width: number) => String(n).padStart(width, '0');

export const stagingPrefix = (exportId: string) => `${STAGING_ROOT}${exportId}/`;

/**
 * NDJSON part n of a source: DynamoDB items already in their export JSON form (one compact object per
 * line), or for an S3 source the list of objects copied.
 */
export const partKey = (exportId: string, sourceId: string, part: number) => `${stagingPrefix(exportId)}${sourceId}/part-${pad(part, 5)}.ndjson`;

/** The top-level attribute names seen in part n of a DynamoDB source (a JSON array): the CSV's columns. */
export const columnsKey = (exportId: string, sourceId: string, part: number) => `${stagingPrefix(exportId)}${sourceId}/part-${pad(part, 5)}.columns.json`;

/** The staged copy of the n-th object of an S3 source (its original key is in the part listing). */
export const stagedObjectKey = (exportId: string, sourceId: string, sequence: number) => `${stagingPrefix(exportId)}${sourceId}/objects/${pad(sequence, 8)}`;

/** What BundleArchive wrote before its deadline, when it has finished `partsDone` parts of the archive. */
export const archiveProgressKey = (exportId: string, partsDone: number) => `${stagingPrefix(exportId)}archive-progress/after-part-${pad(partsDone, 5)}.json`;

/** The ETags of a staged object's parts copied so far, while a copy too long for one call is under way. */
export const copyPartsKey = (stagedKey: string) => `${stagedKey}.copied-parts.json`;

/**
 * The archive's file name. An archive split at maxArchiveBytes has numbered parts: part 1 keeps the plain
 * name (most archives are one part, and it is written before anyone knows whether a second follows),
 * later parts are "-part-N".
 */
export const archiveFileName = (exportId: string, part = 1) => `user-data-export-${exportId}${part > 1 ? `-part-${part}` : ''}.zip`;
export const archivePrefix = (exportId: string) => `${ARCHIVE_ROOT}${exportId}/`;
export const archiveKey = (exportId: string, part = 1) => `${archivePrefix(exportId)}${archiveFileName(exportId, part)}`;

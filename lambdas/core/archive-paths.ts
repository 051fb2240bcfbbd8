// S3 keys become ZIP entry paths that are safe to extract on any OS: no "..", no absolute paths, no
// characters Windows refuses, bounded length, and no two entries with the same path.
import { createHash } from 'node:crypto';

const MAX_SEGMENT_BYTES = 200;
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i;

function safeSegment(segment: string): string {
  // eslint-disable-next-line no-control-regex
  let cleaned = segment.replace(/[\u0000-\u001f\u007f<>:"\\|?*]/g, '_').replace(/[. ]+$/, (m) => '_'.repeat(m.length));
  if (WINDOWS_RESERVED.test(cleaned)) cleaned = `_${cleaned}`;
  if (Buffer.byteLength(cleaned) > MAX_SEGMENT_BYTES) {
    // Keep the start and the extension readable, and a hash so distinct long names stay distinct.
    const hash = createHash('sha256').update(segment).digest('hex').slice(0, 12);
    const dot = cleaned.lastIndexOf('.');
    const extension = dot > 0 && cleaned.length - dot <= 16 ? cleaned.slice(dot) : '';
    let head = cleaned.slice(0, 100);
    while (Buffer.byteLength(head) > 100) head = head.slice(0, -1);
    cleaned = `${head}~${hash}${extension}`;
  }
  return cleaned;
}

/** A relative key ("a/../b//c.txt") as a clean relative path ("a/b/c.txt"); empty when nothing is left. */
export function safeRelativePath(key: string): string {
  return key
    .replace(/\\/g, '/')
    .split('/')
    .filter((s) => s !== '' && s !== '.' && s !== '..')
    .map(safeSegment)
    .join('/');
}

/** Hands out unique paths: a second "a.txt" becomes "a (2).txt". Case-insensitive, as on macOS/Windows. */
export class PathAllocator {
  private readonly used = new Set<string>();

  allocate(path: string): string {
    let candidate = path;
    const dot = path.lastIndexOf('.');
    const slash = path.lastIndexOf('/');
    const [stem, extension] = dot > slash + 1 ? [path.slice(0, dot), path.slice(dot)] : [path, ''];
    for (let n = 2; this.used.has(candidate.toLowerCase()); n += 1) candidate = `${stem} (${n})${extension}`;
    this.used.add(candidate.toLowerCase());
    return candidate;
  }
}

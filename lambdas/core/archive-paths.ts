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
    // Cut by code points, never inside a surrogate pair (half an emoji would become U+FFFD).
    const characters = Array.from(cleaned);
    let head = characters.slice(0, 100).join('');
    for (let n = Math.min(100, characters.length); Buffer.byteLength(head) > 100; n -= 1) head = characters.slice(0, n - 1).join('');
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

/**
 * Hands out unique paths: a second "a.txt" becomes "a (2).txt". Case-insensitive, as on macOS and
 * Windows. A path may not be both a file and a folder ("a" and "a/b"): the later one is renamed.
 */
export class PathAllocator {
  private readonly files = new Set<string>();
  private readonly folders = new Set<string>();

  allocate(path: string): string {
    const segments = path.split('/');
    // Folders on the way must not be files already: rename the first such folder segment.
    for (let depth = 1; depth < segments.length; depth += 1) {
      const folder = segments.slice(0, depth).join('/');
      if (this.files.has(folder.toLowerCase())) {
        let n = 2;
        while (this.files.has(`${folder} (${n})`.toLowerCase())) n += 1;
        segments[depth - 1] = `${segments[depth - 1] ?? ''} (${n})`;
      }
    }
    const base = segments.join('/');
    const dot = base.lastIndexOf('.');
    const slash = base.lastIndexOf('/');
    const [stem, extension] = dot > slash + 1 ? [base.slice(0, dot), base.slice(dot)] : [base, ''];
    let candidate = base;
    for (let n = 2; this.taken(candidate); n += 1) candidate = `${stem} (${n})${extension}`;
    this.files.add(candidate.toLowerCase());
    const parts = candidate.split('/');
    for (let depth = 1; depth < parts.length; depth += 1) this.folders.add(parts.slice(0, depth).join('/').toLowerCase());
    return candidate;
  }

  /** Marks `path` as taken exactly as given: a path allocated by an earlier call, restored. */
  reserve(path: string): void {
    this.files.add(path.toLowerCase());
    const parts = path.split('/');
    for (let depth = 1; depth < parts.length; depth += 1) this.folders.add(parts.slice(0, depth).join('/').toLowerCase());
  }

  private taken(path: string): boolean {
    const key = path.toLowerCase();
    return this.files.has(key) || this.folders.has(key);
  }
}

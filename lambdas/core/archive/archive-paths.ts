// S3 keys become ZIP entry paths that are safe to extract on any OS: no "..", no absolute paths, no
// characters Windows refuses, no bidirectional controls, a bounded length of each segment and of the
// whole path, and no two entries that any file system takes for the same name: paths are NFC (macOS
// and bsdtar merge a name's composed and decomposed forms) and compared case-folded (NTFS and APFS
// ignore case, "ς" and "σ" included).
import { createHash } from 'node:crypto';

const MAX_SEGMENT_BYTES = 200;
/**
 * The longest path handed out, in UTF-16 units (as Windows counts): with a " (2)" or "-part-2" added,
 * at most 170, what fits under Windows' 260-character limit inside "C:\Users\<name>\Downloads\<zip name>\".
 */
export const MAX_PATH_CHARS = 150;
/** Bidirectional and invisible format controls: "rtl\u202etxt.exe" would show as "rtlexe.txt". */
const FORMAT_CONTROLS = /[\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

/**
 * Full Unicode case folding for comparison, as APFS compares names: upper then lower case, repeated until
 * nothing changes, folds "ς", "σ" and "Σ" together, and "ß", "ẞ" and "ss" (ẞ lowers to ß, which uppers to
 * SS). It equates every pair that Unicode's CaseFolding.txt does (a test checks every code point against
 * Python's str.casefold) and a few more, such as "ı" with "i", which NTFS's upcase table merges too:
 * a name renamed needlessly loses nothing, two names merged would lose a file.
 */
export function foldForComparison(path: string): string {
  let folded = path.normalize('NFC');
  for (let previous = ''; previous !== folded;) {
    previous = folded;
    folded = folded.toUpperCase().toLowerCase().normalize('NFC');
  }
  return folded;
}
const fold = foldForComparison;

/** "head~hash.ext": a name whose start is cut to `headBytes` bytes, its extension kept, a hash of the whole keeping distinct names distinct. */
function shorten(cleaned: string, original: string, headBytes: number): string {
  const hash = createHash('sha256').update(original).digest('hex').slice(0, 12);
  const dot = cleaned.lastIndexOf('.');
  const extension = dot > 0 && cleaned.length - dot <= 16 ? cleaned.slice(dot) : '';
  // Cut by code points, never inside a surrogate pair (half an emoji would become U+FFFD).
  const characters = Array.from(cleaned.slice(0, cleaned.length - extension.length));
  const budget = Math.max(1, headBytes);
  let n = Math.min(budget, characters.length);
  while (n > 1 && Buffer.byteLength(characters.slice(0, n).join('')) > budget) n -= 1;
  return `${characters.slice(0, n).join('')}~${hash}${extension}`;
}
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i;

function safeSegment(segment: string): string {
  let cleaned = segment
    .normalize('NFC')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f<>:"\\|?*]/g, '_')
    .replace(FORMAT_CONTROLS, '_')
    .replace(/[. ]+$/, (m) => '_'.repeat(m.length));
  if (WINDOWS_RESERVED.test(cleaned)) cleaned = `_${cleaned}`;
  if (Buffer.byteLength(cleaned) > MAX_SEGMENT_BYTES) cleaned = shorten(cleaned, segment, 100);
  return cleaned;
}

/** The path cut to MAX_PATH_CHARS: its longest segments shortened first (head~hash.ext), folders kept while they fit. */
function boundPath(path: string): string {
  const segments = path.split('/');
  const length = () => segments.join('/').length;
  while (length() > MAX_PATH_CHARS) {
    let longest = 0;
    segments.forEach((segment, i) => {
      if (segment.length > (segments[longest] ?? '').length) longest = i;
    });
    const segment = segments[longest] ?? '';
    // "~" and a 12-digit hash, and an extension of up to 16, stay; the head gives way, to 8 characters at least.
    const head = Math.max(8, segment.length - (length() - MAX_PATH_CHARS) - 30);
    const shortened = shorten(segment, segment, head);
    if (shortened.length >= segment.length) break;
    segments[longest] = shortened;
  }
  if (length() <= MAX_PATH_CHARS) return segments.join('/');
  // Too deep to fit even so: the folders past the first two give way to one, the name stays.
  const collapsed = [...segments.slice(0, 2), shorten(segments.slice(2, -1).join('_'), path, 8), segments.at(-1) ?? ''].join('/');
  return collapsed.length <= MAX_PATH_CHARS ? collapsed : shorten(collapsed.replace(/\//g, '_'), path, 40);
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
    const segments = boundPath(path.normalize('NFC')).split('/');
    // Folders on the way must not be files already: rename the first such folder segment.
    for (let depth = 1; depth < segments.length; depth += 1) {
      const folder = segments.slice(0, depth).join('/');
      if (this.files.has(fold(folder))) {
        let n = 2;
        while (this.files.has(fold(`${folder} (${n})`))) n += 1;
        segments[depth - 1] = `${segments[depth - 1] ?? ''} (${n})`;
      }
    }
    const base = segments.join('/');
    const dot = base.lastIndexOf('.');
    const slash = base.lastIndexOf('/');
    const [stem, extension] = dot > slash + 1 ? [base.slice(0, dot), base.slice(dot)] : [base, ''];
    let candidate = base;
    for (let n = 2; this.taken(candidate); n += 1) candidate = `${stem} (${n})${extension}`;
    this.files.add(fold(candidate));
    const parts = candidate.split('/');
    for (let depth = 1; depth < parts.length; depth += 1) this.folders.add(fold(parts.slice(0, depth).join('/')));
    return candidate;
  }

  /** Marks `path` as taken exactly as given: a path allocated by an earlier call, restored. */
  reserve(path: string): void {
    this.files.add(fold(path));
    const parts = path.split('/');
    for (let depth = 1; depth < parts.length; depth += 1) this.folders.add(fold(parts.slice(0, depth).join('/')));
  }

  private taken(path: string): boolean {
    const key = fold(path);
    return this.files.has(key) || this.folders.has(key);
  }
}

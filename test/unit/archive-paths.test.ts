// docs/architecture.md, "The archive": S3 keys become ZIP paths that are safe to extract anywhere (no "..", no
// absolute paths, nothing Windows refuses) and unique, even case-insensitively.
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { foldForComparison, MAX_PATH_CHARS, PathAllocator, safeRelativePath } from '../../lambdas/core/archive/archive-paths.ts';

/**
 * Unicode's full case folding (CaseFolding.txt, statuses C and F) as Python's str.casefold implements it:
 * every code point whose NFC folding differs from its NFC form, read once from python3. The reference the
 * archive's own folding is checked against.
 */
const CASE_FOLDING = new Map(
  Object.entries(
    JSON.parse(
      execFileSync('python3', [
        '-c',
        "import json, sys, unicodedata as u; n = lambda s: u.normalize('NFC', s); json.dump({cp: n(chr(cp).casefold()) for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF and n(chr(cp).casefold()) != n(chr(cp))}, sys.stdout)",
      ]).toString(),
    ) as Record<string, string>,
  ).map(([cp, folded]) => [Number(cp), folded]),
);
const referenceFold = (text: string) =>
  Array.from(text.normalize('NFC'), (c) => CASE_FOLDING.get(c.codePointAt(0) ?? 0) ?? c)
    .join('')
    .normalize('NFC');

const segmentsOf = (path: string): string[] => path.split('/');

describe('safeRelativePath', () => {
  it('keeps an ordinary relative key as it is', () => {
    expect(safeRelativePath('photos/2024/car front.jpg')).toBe('photos/2024/car front.jpg');
  });

  it('drops "..", "." and empty segments', () => {
    expect(safeRelativePath('a/../b//c.txt')).toBe('a/b/c.txt');
    expect(safeRelativePath('./x/./y/')).toBe('x/y');
    expect(safeRelativePath('../../../etc/passwd')).toBe('etc/passwd');
  });

  it('makes absolute keys relative', () => {
    expect(safeRelativePath('/etc/passwd')).toBe('etc/passwd');
    expect(safeRelativePath('///root//.ssh/id_rsa')).toBe('root/.ssh/id_rsa');
  });

  it('treats backslashes as separators so "..\\" cannot climb out on Windows', () => {
    expect(safeRelativePath('..\\..\\windows\\system32\\x.dll')).toBe('windows/system32/x.dll');
    expect(safeRelativePath('a\\b/c')).toBe('a/b/c');
  });

  it('returns an empty path when nothing is left', () => {
    expect(safeRelativePath('')).toBe('');
    expect(safeRelativePath('../..//./')).toBe('');
  });

  it('replaces characters Windows refuses in file names', () => {
    expect(safeRelativePath('a<b>c:d"e|f?g*h.txt')).toBe('a_b_c_d_e_f_g_h.txt');
    expect(safeRelativePath('C:\\Users\\me\\file.txt')).toBe('C_/Users/me/file.txt');
  });

  it('replaces control characters, NUL and DEL', () => {
    expect(safeRelativePath('a\u0000b\u0001c\u001fd\u007fe\nf\tg.txt')).toBe('a_b_c_d_e_f_g.txt');
  });

  it('replaces trailing dots and spaces, which Windows silently strips', () => {
    expect(safeRelativePath('report. ')).toBe('report__');
    expect(safeRelativePath('dir./file...')).toBe('dir_/file___');
  });

  it('renames Windows reserved device names, with or without extension, in any case', () => {
    expect(safeRelativePath('CON')).toBe('_CON');
    expect(safeRelativePath('nul.txt')).toBe('_nul.txt');
    expect(safeRelativePath('docs/Aux.tar.gz')).toBe('docs/_Aux.tar.gz');
    expect(safeRelativePath('com1/lpt9.log')).toBe('_com1/_lpt9.log');
    expect(safeRelativePath('prn')).toBe('_prn');
  });

  it('leaves names that only start like reserved names alone', () => {
    expect(safeRelativePath('console.txt')).toBe('console.txt');
    expect(safeRelativePath('nullable')).toBe('nullable');
  });

  it('never produces "..", ".", an absolute path or a backslash, whatever the key', () => {
    const keys = ['..', '.', '/..', '\\..\\', 'a/..\\..', '....//....', '\u0000/..', ' /../ ', 'a/./../b'];
    for (const key of keys) {
      const path = safeRelativePath(key);
      expect(path.startsWith('/'), key).toBe(false);
      expect(path.includes('\\'), key).toBe(false);
      for (const segment of path === '' ? [] : segmentsOf(path)) {
        expect(['', '.', '..'].includes(segment), `${JSON.stringify(key)} → ${JSON.stringify(path)}`).toBe(false);
      }
    }
  });

  it('shortens a segment longer than 200 bytes, keeping its start and extension', () => {
    const name = `${'a'.repeat(300)}.pdf`;
    const path = safeRelativePath(`docs/${name}`);
    const [dir, file] = segmentsOf(path);
    expect(dir).toBe('docs');
    expect(file).toMatch(/^a{100}~[0-9a-f]{12}\.pdf$/);
    expect(Buffer.byteLength(file ?? '')).toBeLessThanOrEqual(200);
  });

  it('leaves a segment of exactly 200 bytes whole', () => {
    const name = `${'b'.repeat(196)}.txt`;
    expect(safeRelativePath(name)).toBe(name);
  });

  it('keeps distinct long names distinct after shortening', () => {
    const common = 'x'.repeat(250);
    const first = safeRelativePath(`${common}-1.jpg`);
    const second = safeRelativePath(`${common}-2.jpg`);
    expect(first).not.toBe(second);
    expect(first.endsWith('.jpg')).toBe(true);
    expect(second.endsWith('.jpg')).toBe(true);
  });

  it('shortens a segment of multi-byte characters by bytes, not characters', () => {
    const path = safeRelativePath(`${'é'.repeat(150)}.txt`);
    expect(Buffer.byteLength(path)).toBeLessThanOrEqual(200);
    expect(path).toMatch(/^é{50}~[0-9a-f]{12}\.txt$/);
  });

  it('never cuts a character in half when shortening a segment of emoji', () => {
    // "a" then emoji: a cut at 100 UTF-16 units falls between the two halves of a surrogate pair.
    const path = safeRelativePath(`a${'😀'.repeat(120)}.png`);
    expect(path.isWellFormed(), JSON.stringify(path)).toBe(true);
    expect(Buffer.byteLength(path)).toBeLessThanOrEqual(200);
    expect(path.endsWith('.png')).toBe(true);
  });
});

describe('PathAllocator', () => {
  it('gives a repeated path a numbered name before the extension', () => {
    const paths = new PathAllocator();
    expect(paths.allocate('dir/a.txt')).toBe('dir/a.txt');
    expect(paths.allocate('dir/a.txt')).toBe('dir/a (2).txt');
    expect(paths.allocate('dir/a.txt')).toBe('dir/a (3).txt');
  });

  it('treats paths that differ only in case as the same path', () => {
    const paths = new PathAllocator();
    expect(paths.allocate('Photos/Car.JPG')).toBe('Photos/Car.JPG');
    expect(paths.allocate('photos/car.jpg')).toBe('photos/car (2).jpg');
    expect(paths.allocate('PHOTOS/CAR.JPG')).toBe('PHOTOS/CAR (3).JPG');
  });

  it('does not take a dot in a folder name or a leading dot for an extension', () => {
    const paths = new PathAllocator();
    paths.allocate('v1.2/readme');
    expect(paths.allocate('v1.2/readme')).toBe('v1.2/readme (2)');
    paths.allocate('x/.env');
    expect(paths.allocate('x/.env')).toBe('x/.env (2)');
  });

  it('never hands out a numbered name that a real key already took', () => {
    const paths = new PathAllocator();
    expect(paths.allocate('a (2).txt')).toBe('a (2).txt');
    expect(paths.allocate('a.txt')).toBe('a.txt');
    expect(paths.allocate('a.txt')).toBe('a (3).txt');
    expect(paths.allocate('a (2).txt')).toBe('a (2) (2).txt');
  });

  it('keeps separate allocators independent', () => {
    const first = new PathAllocator();
    const second = new PathAllocator();
    first.allocate('same.txt');
    expect(second.allocate('same.txt')).toBe('same.txt');
  });
});

describe('PathAllocator with files and folders of the same name', () => {
  it('renames a file that would take the name of an existing folder', () => {
    const paths = new PathAllocator();
    expect(paths.allocate('c/s/a/b.txt')).toBe('c/s/a/b.txt');
    expect(paths.allocate('c/s/a')).toBe('c/s/a (2)');
  });

  it('moves a file under a renamed folder when a file already has the folder’s name', () => {
    const paths = new PathAllocator();
    expect(paths.allocate('c/s/a')).toBe('c/s/a');
    expect(paths.allocate('c/s/a/b.txt')).toBe('c/s/a (2)/b.txt');
    expect(paths.allocate('c/s/a/c.txt')).toBe('c/s/a (2)/c.txt');
  });
});

describe('names every file system keeps apart', () => {
  const fold = referenceFold;

  it('writes names in NFC, and keeps a composed and a decomposed "café" as two files', () => {
    const paths = new PathAllocator();
    const composed = paths.allocate(safeRelativePath('caf\u00e9.txt'));
    const decomposed = paths.allocate(safeRelativePath('cafe\u0301.txt'));
    expect(composed).toBe('caf\u00e9.txt');
    expect(decomposed).toBe('caf\u00e9 (2).txt');
  });

  it('folds case as NTFS and APFS do: "ς.txt" and "σ.txt" are one name there', () => {
    const paths = new PathAllocator();
    expect(paths.allocate('ς.txt')).toBe('ς.txt');
    expect(paths.allocate('σ.txt')).toBe('σ (2).txt');
    expect(paths.allocate('Σ.TXT')).toBe('Σ (3).TXT');
  });

  it('folds every character that Unicode case folding folds together into one (every code point, against Python)', () => {
    expect(CASE_FOLDING.size).toBeGreaterThan(1000);
    const classes = new Map<string, string[]>();
    for (let cp = 0; cp < 0x110000; cp += 1) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const c = String.fromCodePoint(cp);
      const key = referenceFold(c);
      classes.set(key, [...(classes.get(key) ?? []), c]);
    }
    const split = [...classes.values()].filter((members) => new Set(members.map(foldForComparison)).size > 1);
    expect(split.map((members) => members.join(' '))).toEqual([]);
    expect(foldForComparison('ẞ')).toBe(foldForComparison('ss'));
    const paths = new PathAllocator();
    expect(['straße.txt', 'STRAẞE.txt', 'strasse.txt'].map((name) => paths.allocate(name))).toEqual(['straße.txt', 'STRAẞE (2).txt', 'strasse (3).txt']);
  });

  it('neutralises bidirectional controls, so "rtl\\u202etxt.exe" cannot show as "rtlexe.txt"', () => {
    expect(safeRelativePath('rtl\u202etxt.exe')).toBe('rtl_txt.exe');
    expect(safeRelativePath('a\u2066b\u2069\u200f.pdf')).toBe('a_b__.pdf');
  });

  it('bounds the whole path, not only its segments, keeping the extension and distinct names distinct', () => {
    const paths = new PathAllocator();
    const deep = `communication/attachments/${Array.from({ length: 8 }, (_, i) => `folder-${i}-${'x'.repeat(40)}`).join('/')}`;
    const first = paths.allocate(`${deep}/report-${'y'.repeat(80)}-1.pdf`);
    const second = paths.allocate(`${deep}/report-${'y'.repeat(80)}-2.pdf`);
    for (const path of [first, second]) {
      expect(path.length).toBeLessThanOrEqual(MAX_PATH_CHARS);
      expect(path.startsWith('communication/attachments/')).toBe(true);
      expect(path.endsWith('.pdf')).toBe(true);
    }
    expect(first).not.toBe(second);
  });

  it('never hands out two paths one file system would merge, nor one over the limit (property)', () => {
    const name = fc.string({
      unit: fc.oneof(
        fc.constantFrom('a', 'A', 'é', 'e\u0301', 'ς', 'σ', 'Σ', 'ß', 'ẞ', 'SS', 'ﬀ', 'İ', 'ǅ', '/', '.', ' ', '\u202e', '日', '🎉', 'x'.repeat(30)),
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
      ),
      minLength: 1,
      maxLength: 40,
    });
    fc.assert(
      fc.property(fc.array(name, { minLength: 1, maxLength: 40 }), (keys) => {
        const paths = new PathAllocator();
        const handed = keys.map((key) => paths.allocate(`usage/source/${safeRelativePath(key) || 'object'}`));
        const folded = new Set(handed.map(fold));
        expect(folded.size).toBe(handed.length);
        for (const path of handed) {
          expect(path.length).toBeLessThanOrEqual(MAX_PATH_CHARS + 12);
          expect(path).toBe(path.normalize('NFC'));
          expect(path).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
        }
      }),
      { numRuns: 300 },
    );
  });
});

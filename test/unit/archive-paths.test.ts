// DESIGN ⚑ "The archive": S3 keys become ZIP paths that are safe to extract anywhere (no "..", no
// absolute paths, nothing Windows refuses) and unique, even case-insensitively.
import { describe, expect, it } from 'vitest';
import { PathAllocator, safeRelativePath } from '../../lambdas/core/archive-paths.ts';

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

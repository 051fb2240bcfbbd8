// The ZIP writer against an independent reader (yauzl): block-parallel deflate must give the same bytes
// back, with the CRC-32 and sizes the central directory claims, whatever the block sizes.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { deflateBound, ZipWriter } from '../../lambdas/core/archive/zip/zip-writer.ts';
import { readArchive } from '../../local/archive-reader.ts';

const folder = mkdtempSync(join(tmpdir(), 'zip-writer-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

async function write(name: string, entries: { name: string; blocks: Buffer[] }[], concurrency = 3) {
  const writer = new ZipWriter({ concurrency });
  const path = join(folder, name);
  const saved = pipeline(writer.output, createWriteStream(path));
  for (const entry of entries) {
    await writer.openEntry(entry.name, new Date(Date.UTC(2026, 10, 24, 12, 30, 10)));
    for (const block of entry.blocks) await writer.write(block);
    await writer.closeEntry();
  }
  const size = await writer.finish();
  await saved;
  return { path, size, writer };
}

describe('ZipWriter', () => {
  it('writes entries of text, random bytes and nothing that read back byte for byte', async () => {
    const text = Buffer.from(Array.from({ length: 40_000 }, (_, i) => `{"n":${i},"word":"row ${i % 97}"}\n`).join(''));
    const noise = randomBytes(300_000);
    const blocksOf = (data: Buffer, size: number) => Array.from({ length: Math.ceil(data.length / size) }, (_, i) => data.subarray(i * size, (i + 1) * size));
    const { path, size } = await write('mixed.zip', [
      { name: 'text.json', blocks: blocksOf(text, 100_000) },
      { name: 'small-blocks.json', blocks: blocksOf(text, 777) },
      { name: 'noise.bin', blocks: blocksOf(noise, 65_536) },
      { name: 'empty.txt', blocks: [] },
      { name: 'nested/ünïcode name.csv', blocks: [Buffer.from('a,b\r\n1,2\r\n')] },
    ]);
    const files = await readArchive(path);
    expect([...files.keys()]).toEqual(['text.json', 'small-blocks.json', 'noise.bin', 'empty.txt', 'nested/ünïcode name.csv']);
    expect(files.get('text.json')?.equals(text)).toBe(true);
    expect(files.get('small-blocks.json')?.equals(text)).toBe(true);
    expect(files.get('noise.bin')?.equals(noise)).toBe(true);
    expect(files.get('empty.txt')?.length).toBe(0);
    expect(files.get('nested/ünïcode name.csv')?.toString()).toBe('a,b\r\n1,2\r\n');
    // Compression still works across blocks: the text shrinks by far more than half.
    expect(size).toBeLessThan(text.length);
  });

  it('keeps its size bound: what it predicts before finishing is never less than what it writes', async () => {
    const writer = new ZipWriter({ concurrency: 2 });
    const chunks: Buffer[] = [];
    writer.output.on('data', (chunk: Buffer) => chunks.push(chunk));
    const noise = randomBytes(50_000);
    await writer.openEntry('a.bin', new Date());
    const predicted = writer.sizeIfFinished(noise.length);
    await writer.write(noise);
    await writer.closeEntry();
    const size = await writer.finish();
    expect(size).toBeLessThanOrEqual(predicted);
    expect(Buffer.concat(chunks).length).toBe(size);
    expect(deflateBound(noise.length)).toBeGreaterThan(noise.length);
  });

  it('reads a block only until it calls release: buffers handed back are overwritten at once, and the archive is still exact', async () => {
    const text = Buffer.from(Array.from({ length: 60_000 }, (_, i) => `{"n":${i},"word":"row ${i % 89}"}\n`).join(''));
    const writer = new ZipWriter({ concurrency: 3 });
    const path = join(folder, 'reused.zip');
    const saved = pipeline(writer.output, createWriteStream(path));
    // Two buffers go round (large blocks deflate on the thread pool, small ones inline); each is
    // scribbled over the moment it comes back, so a block read after its release would show.
    const free: Buffer[] = [Buffer.alloc(100_000), Buffer.alloc(100_000)];
    const waiting: (() => void)[] = [];
    let released = 0;
    const take = async (): Promise<Buffer> => {
      if (free.length === 0) await new Promise<void>((resolve) => waiting.push(resolve));
      const buffer = free.pop();
      if (!buffer) throw new Error('released without a buffer');
      return buffer;
    };
    await writer.openEntry('reused.json', new Date());
    for (const size of [100_000, 5_000]) {
      for (let start = 0; start < text.length; start += size) {
        const buffer = await take();
        const length = text.copy(buffer, 0, start, Math.min(start + size, text.length));
        await writer.write(buffer.subarray(0, length), () => {
          released += 1;
          buffer.fill(0x21);
          free.push(buffer);
          waiting.shift()?.();
        });
      }
    }
    await writer.closeEntry();
    await writer.finish();
    await saved;
    expect(released).toBe(Math.ceil(text.length / 100_000) + Math.ceil(text.length / 5_000));
    expect((await readArchive(path)).get('reused.json')?.equals(Buffer.concat([text, text]))).toBe(true);
  });
});

describe('ZipWriter over random entry sets (property)', () => {
  const entry = fc.record({
    name: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).map((n) => n.replace(/[/\\\0]/g, '_') || 'x'),
    blocks: fc.array(
      fc.oneof(
        fc.uint8Array({ maxLength: 70_000 }),
        fc.string({ maxLength: 20_000 }).map((t) => new Uint8Array(Buffer.from(t.repeat(3)))),
      ),
      { maxLength: 5 },
    ),
    sizeBound: fc.boolean(),
  });

  it('reads back byte for byte in yauzl, and never finishes larger than it predicted', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(entry, { minLength: 1, maxLength: 8, selector: (e) => e.name }), async (entries) => {
        const writer = new ZipWriter({ concurrency: 2 });
        const path = join(folder, `property-${run++}.zip`);
        const saved = pipeline(writer.output, createWriteStream(path));
        // The last prediction made: finishing right after it adds nothing it did not count.
        let predicted = 0;
        for (const { name, blocks, sizeBound } of entries) {
          const total = blocks.reduce((sum, b) => sum + b.length, 0);
          predicted = writer.sizeIfFinished(0, name);
          await writer.openEntry(name, new Date(Date.UTC(2026, 0, 1)), sizeBound ? total : undefined);
          for (const block of blocks) {
            predicted = writer.sizeIfFinished(block.length);
            await writer.write(Buffer.from(block));
          }
          await writer.closeEntry();
        }
        const bound = writer.sizeIfFinished();
        const size = await writer.finish();
        await saved;
        expect(size).toBeLessThanOrEqual(bound);
        expect(size).toBeLessThanOrEqual(predicted);
        const files = await readArchive(path);
        expect([...files.keys()]).toEqual(entries.map((e) => e.name));
        for (const { name, blocks } of entries) expect(files.get(name)?.equals(Buffer.concat(blocks.map((b) => Buffer.from(b))))).toBe(true);
        rmSync(path);
      }),
      { numRuns: 40 },
    );
  });
});

// archiver 8 ships no type declarations; this covers the part of its API the benchmark uses (it measures
// archiver against our own ZIP writer over the same bytes).
declare module 'archiver' {
  import type { Readable, Transform } from 'node:stream';
  import type { ZlibOptions } from 'node:zlib';

  export interface EntryData {
    name: string;
    date?: Date | string;
    mode?: number;
    store?: boolean;
  }

  export interface ZipOptions {
    zlib?: ZlibOptions;
    forceZip64?: boolean;
    store?: boolean;
    highWaterMark?: number;
    comment?: string;
  }

  export class ZipArchive extends Transform {
    constructor(options?: ZipOptions);
    append(source: Readable | Buffer | string, data: EntryData): this;
    finalize(): Promise<void>;
    abort(): this;
    pointer(): number;
    on(event: 'entry', listener: (data: EntryData) => void): this;
    on(event: 'warning' | 'error', listener: (error: Error) => void): this;
    on(event: string | symbol, listener: (...args: unknown[]) => void): this;
  }
}

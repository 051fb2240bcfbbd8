// dynalite and s3rver ship no type declarations; these cover what the embedded stack uses.
declare module 'dynalite' {
  import type { Server } from 'node:http';
  interface DynaliteOptions {
    path?: string;
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSizeKb?: number;
  }
  export default function dynalite(options?: DynaliteOptions): Server;
}

declare module 's3rver' {
  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory?: string;
    resetOnClose?: boolean;
    allowMismatchedSignatures?: boolean;
    vhostBuckets?: boolean;
    configureBuckets?: { name: string; configs?: (string | Buffer)[] }[];
  }
  /** The filesystem store behind the server; local/emulators.ts replaces some of its methods. */
  export interface S3rverObject {
    bucket: string;
    key: string;
    content: Buffer | NodeJS.ReadableStream;
    metadata: Record<string, string>;
  }
  export interface S3rverFilesystemStore {
    rootDirectory: string;
    getMetadata(bucket: string, key: string): Promise<Record<string, string>>;
    getResourcePath(bucket: string, key: string | undefined, resource: string): string;
    putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5?: string): Promise<void>;
    putObject(object: S3rverObject): Promise<{ size: number; md5: string }>;
    deleteObject(bucket: string, key: string): Promise<void>;
    copyObject(sourceBucket: string, sourceKey: string, bucket: string, key: string, replacementMetadata?: Record<string, string>): Promise<Record<string, string>>;
    getSubresource(bucket: string, key: string | undefined, type: string): Promise<unknown>;
    putSubresource(bucket: string, key: string | undefined, resource: { type: string }): Promise<void>;
    deleteSubresource(bucket: string, key: string | undefined, type: string): Promise<void>;
    deleteBucket(bucket: string): Promise<void>;
    listObjects(bucket: string, options: S3rverListOptions): Promise<S3rverListing>;
  }
  export interface S3rverListOptions {
    prefix?: string;
    startAfter?: string;
    maxKeys?: number;
    delimiter?: string;
    [option: string]: unknown;
  }
  export interface S3rverListing {
    objects: { key: string; [field: string]: unknown }[];
    commonPrefixes: string[];
    isTruncated: boolean;
  }
  export default class S3rver {
    constructor(options?: S3rverOptions);
    store: S3rverFilesystemStore;
    run(): Promise<{ address: string; port: number }>;
    close(): Promise<void>;
  }
}

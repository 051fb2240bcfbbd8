// The embedded emulators, each in this process on a free loopback port: dynalite (DynamoDB), s3rver
// (S3) and aws-ses-v2-local (SES). Nothing is downloaded and no Docker is needed.
import dynalite from 'dynalite';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import type * as SesLocal from 'aws-ses-v2-local';

// aws-ses-v2-local is CommonJS with an `exports.default`; require() reaches the function without guessing
// how the ESM loader wraps it.
const { default: sesLocal } = createRequire(import.meta.url)('aws-ses-v2-local') as (typeof SesLocal)['default'];

export interface Emulators {
  endpoints: { dynamodb: string; s3: string; ses: string };
  close(): Promise<void>;
}

const urlOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

function listen(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections?.();
  return new Promise((resolve) => server.close(() => resolve()));
}

export async function startEmulators(): Promise<Emulators> {
  const s3Directory = mkdtempSync(join(tmpdir(), 'user-data-export-s3-'));
  const dynamodb = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await listen(dynamodb);
  const s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: s3Directory, resetOnClose: true });
  const s3Address = await s3.run();
  const ses = await sesLocal({ host: '127.0.0.1', port: 0 });
  if (!ses.listening) await new Promise((resolve) => ses.once('listening', resolve));
  return {
    endpoints: { dynamodb: urlOf(dynamodb), s3: `http://127.0.0.1:${s3Address.port}`, ses: urlOf(ses) },
    async close() {
      await Promise.all([closeServer(dynamodb), s3.close(), closeServer(ses)]);
      rmSync(s3Directory, { recursive: true, force: true });
    },
  };
}

// The embedded emulators, each on a free loopback port: dynalite (DynamoDB) and aws-ses-v2-local (SES)
// in this process, s3rver (S3) in a process of its own (local/s3-emulator.ts), so that the handlers and
// the emulator each have a core. Nothing is downloaded and no Docker is needed.
import dynalite from 'dynalite';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type * as SesLocal from 'aws-ses-v2-local';

// aws-ses-v2-local is CommonJS with an `exports.default`; require() reaches the function without guessing
// how the ESM loader wraps it.
const { default: sesLocal } = createRequire(import.meta.url)('aws-ses-v2-local') as (typeof SesLocal)['default'];
const HERE = dirname(fileURLToPath(import.meta.url));

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

/** /dev/shm when it exists with room to spare (a container's default is 64 MiB, too little for thousands of files). */
function memoryFolder(): string | undefined {
  try {
    const { bavail, bsize } = statfsSync('/dev/shm');
    return bavail * bsize >= 2 * 1024 ** 3 ? '/dev/shm' : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts local/s3-emulator-process.ts under tsx with this Node; resolves once it serves. It stops when
 * `close` ends its stdin, and with this process, whose end closes the pipe.
 */
function startS3Process(directory: string): Promise<{ port: number; close(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(HERE, 's3-emulator-process.ts'), directory], { cwd: join(HERE, '..'), stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    child.once('error', reject);
    void exited.then((code) => reject(new Error(`The S3 emulator (local/s3-emulator-process.ts) exited with code ${code} before it served.`)));
    lines.once('line', (line) => {
      let port: number;
      try {
        port = (JSON.parse(line) as { port: number }).port;
      } catch {
        child.kill();
        reject(new Error(`The S3 emulator (local/s3-emulator-process.ts) printed "${line}" where its port was expected.`));
        return;
      }
      resolve({
        port,
        close: async () => {
          child.stdin.end();
          await exited;
        },
      });
    });
  });
}

export async function startEmulators(): Promise<Emulators> {
  // In memory where the machine has it: s3rver keeps three files per object, and a disk's latency would
  // be most of what a copy or a listing costs.
  const s3Directory = mkdtempSync(join(memoryFolder() ?? tmpdir(), 'user-data-export-s3-'));
  const dynamodb = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await listen(dynamodb);
  const s3 = await startS3Process(s3Directory);
  const ses = await sesLocal({ host: '127.0.0.1', port: 0 });
  if (!ses.listening) await new Promise((resolve) => ses.once('listening', resolve));
  return {
    endpoints: { dynamodb: urlOf(dynamodb), s3: `http://127.0.0.1:${s3.port}`, ses: urlOf(ses) },
    async close() {
      await Promise.all([closeServer(dynamodb), s3.close(), closeServer(ses)]);
      rmSync(s3Directory, { recursive: true, force: true });
    },
  };
}

// The embedded emulators of one stack, each on a free loopback port: dynalite (DynamoDB) in this
// process; s3rver (S3, local/s3-emulator.ts) and aws-ses-v2-local (SES) in processes of their own
// (local/emulator-process.ts): S3 so that the handlers and the emulator each have a core, SES because
// its store of sent emails is one per process. PGlite and cognito-local, for a data map's databases and
// pools (local/stand-ins.ts), start here too, each in a process. Nothing is downloaded, no Docker.
import dynalite from 'dynalite';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { PostgresStandIn } from '../lambdas/core/collect/connectors/postgres/local.ts';

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
 * Starts local/emulator-process.ts under tsx with this Node; resolves once it serves. It stops when
 * `close` ends its stdin, and with this process, whose end closes the pipe.
 */
function startEmulatorProcess(...args: string[]): Promise<{ port: number; close(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(HERE, 'emulator-process.ts'), ...args], { cwd: join(HERE, '..'), stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    child.once('error', reject);
    void exited.then((code) => reject(new Error(`The ${args[0]} emulator (local/emulator-process.ts) exited with code ${code} before it served.`)));
    lines.once('line', (line) => {
      let port: number;
      try {
        port = (JSON.parse(line) as { port: number }).port;
      } catch {
        child.kill();
        reject(new Error(`The ${args[0]} emulator (local/emulator-process.ts) printed "${line}" where its port was expected.`));
        return;
      }
      resolve({
        port,
        close: async () => {
          child.stdin.end();
          // An emulator that does not stop within a few seconds of its stdin closing is killed.
          const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(kill);
        },
      });
    });
  });
}

/** A PostgreSQL database (PGlite, served over the wire protocol) in a process of its own. */
export async function startPostgresProcess(): Promise<PostgresStandIn> {
  const postgres = await startEmulatorProcess('postgres');
  return { host: '127.0.0.1', port: postgres.port, user: 'postgres', database: 'postgres', close: () => postgres.close() };
}

/** cognito-local, with its pools in a folder of its own: the Cognito user pools of a data map that has them. */
export async function startCognitoLocal(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const directory = mkdtempSync(join(tmpdir(), 'user-data-export-cognito-'));
  const cognito = await startEmulatorProcess('cognito', directory);
  return {
    endpoint: `http://127.0.0.1:${cognito.port}`,
    close: async () => {
      await cognito.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

export async function startEmulators(): Promise<Emulators> {
  // In memory where the machine has it: s3rver keeps three files per object, and a disk's latency would
  // be most of what a copy or a listing costs.
  const s3Directory = mkdtempSync(join(memoryFolder() ?? tmpdir(), 'user-data-export-s3-'));
  const dynamodb = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const started = await Promise.allSettled([listen(dynamodb), startEmulatorProcess('s3', s3Directory), startEmulatorProcess('ses')] as const);
  const [listening, s3Started, sesStarted] = started;
  if (listening.status === 'rejected' || s3Started.status === 'rejected' || sesStarted.status === 'rejected') {
    // One did not start: the others stop with it rather than live on until this process ends.
    await Promise.allSettled([closeServer(dynamodb), ...[s3Started, sesStarted].map((s) => (s.status === 'fulfilled' ? s.value.close() : undefined))]);
    rmSync(s3Directory, { recursive: true, force: true });
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    throw failed?.reason instanceof Error ? failed.reason : new Error(`An emulator did not start: ${String(failed?.reason)}`);
  }
  const [s3, ses] = [s3Started.value, sesStarted.value];
  return {
    endpoints: { dynamodb: urlOf(dynamodb), s3: `http://127.0.0.1:${s3.port}`, ses: `http://127.0.0.1:${ses.port}` },
    async close() {
      await Promise.all([closeServer(dynamodb), s3.close(), ses.close()]);
      rmSync(s3Directory, { recursive: true, force: true });
    },
  };
}

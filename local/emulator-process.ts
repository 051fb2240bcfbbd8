// An emulator in a process of its own, started by local/emulators.ts: `s3 <directory>` (s3rver, so that
// the handlers and the emulator each have a core), `ses` (aws-ses-v2-local, whose store of sent emails
// is one per process, so each embedded stack needs its own) or `cognito <directory>` (cognito-local,
// which keeps its pools under the working directory and reads its port from the environment) or
// `postgres` (PGlite over the wire protocol, local/stand-ins.ts's default database server). It prints
// its port as one JSON line and serves until its parent closes stdin (or dies); the parent owns the
// directories.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type * as SesLocal from 'aws-ses-v2-local';
import { startPglite } from '../lambdas/core/collect/connectors/postgres/local.ts';
import { startS3Emulator } from './s3-emulator.ts';

async function start(kind: string | undefined, directory: string | undefined): Promise<{ port: number; close(): Promise<void> }> {
  if (kind === 's3' && directory) return startS3Emulator(directory);
  if (kind === 'ses') {
    // aws-ses-v2-local is CommonJS with an `exports.default`; require() reaches the function without
    // guessing how the ESM loader wraps it.
    const { default: sesLocal } = createRequire(import.meta.url)('aws-ses-v2-local') as (typeof SesLocal)['default'];
    const server = await sesLocal({ host: '127.0.0.1', port: 0 });
    if (!server.listening) await new Promise((resolve) => server.once('listening', resolve));
    return {
      port: (server.address() as AddressInfo).port,
      close: () => {
        server.closeAllConnections?.();
        return new Promise((resolve) => server.close(() => resolve()));
      },
    };
  }
  // PGlite compiles its WebAssembly and runs every statement on the thread it lives on: in a process
  // of its own it neither delays the other emulators' start nor stalls the handlers while it works.
  if (kind === 'postgres') return startPglite();
  if (kind === 'cognito' && directory) {
    // This process is cognito-local's alone: its working directory holds the pools, its environment the port.
    process.chdir(directory);
    // Usernames are the data map's user ids, not email addresses (cognito-local's default).
    mkdirSync('.cognito', { recursive: true });
    writeFileSync('.cognito/config.json', JSON.stringify({ UserPoolDefaults: { UsernameAttributes: [] } }));
    process.env.PORT = '0';
    process.env.HOST = '127.0.0.1';
    process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = '1';
    const require = createRequire(import.meta.url);
    const { createDefaultServer } = require('cognito-local') as { createDefaultServer: (logger: unknown) => Promise<{ start(): Promise<Server> }> };
    const pino = require('pino') as (options: { level: string }) => unknown;
    const server = await (await createDefaultServer(pino({ level: 'silent' }))).start();
    return {
      port: (server.address() as AddressInfo).port,
      close: () => {
        server.closeAllConnections();
        return new Promise((resolve) => server.close(() => resolve()));
      },
    };
  }
  console.error('usage: emulator-process s3 <directory> | ses | cognito <directory> | postgres');
  process.exit(2);
}

const emulator = await start(process.argv[2], process.argv[3]);
console.log(JSON.stringify({ port: emulator.port }));
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void emulator.close().finally(() => process.exit(0));
};
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
process.on('SIGTERM', stop);

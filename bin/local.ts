// `npm run local`: the embedded stack as a long-running server. The API and the account page on
// localhost, emails in a local inbox, the CLI reachable with --local. Ctrl-C stops it cleanly.
import { existsSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_ENDPOINT_FILE } from '../cli/target.ts';
import { startLocalServer } from '../local/local-server.ts';
import { loadSeedFile } from '../local/seed.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '3000' },
    'data-map': { type: 'string', default: 'config/data-map.json' },
    seed: { type: 'string' },
    'endpoint-file': { type: 'string', default: DEFAULT_ENDPOINT_FILE },
    'cooldown-hours': { type: 'string', default: '24' },
  },
});

const endpointFile = resolve(values['endpoint-file'] ?? DEFAULT_ENDPOINT_FILE);
try {
  const server = await startLocalServer({
    port: Number(values.port),
    dataMapFile: values['data-map'],
    seed: values.seed ? loadSeedFile(resolve(values.seed)) : undefined,
    endpointFile,
    cooldownHours: Number(values['cooldown-hours']),
  });
  console.log(`The embedded stack is running.

  Account page   ${server.url}/            (sign in as u-1001, u-1002, … with the demo data)
  Local inbox    ${server.url}/local/inbox
  API            ${server.url}              (same routes as the deployed HTTP API)
  Support CLI    npx user-data-export <command> --local   (e.g. list --user u-1001 --local)

Press Ctrl-C to stop.`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the embedded stack…`);
    await server.stop();
    if (existsSync(endpointFile)) rmSync(endpointFile);
    console.log('Stopped.');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
} catch (error) {
  console.error(`npm run local failed: ${(error as Error).message}`);
  process.exit(1);
}

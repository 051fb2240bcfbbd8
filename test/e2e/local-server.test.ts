// `npm run local` as a developer runs it: it starts, serves the account page and writes the CLI's
// endpoint file, and Ctrl-C (SIGINT) stops it cleanly, removing that file.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('npm run local', () => {
  it('serves the account page until Ctrl-C, then stops cleanly', async () => {
    const endpointFile = join(mkdtempSync(join(tmpdir(), 'local-')), 'endpoint.json');
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/local.ts', '--port', '0', '--endpoint-file', endpointFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /Account page +(http:\/\/127\.0\.0\.1:\d+)\//.exec(output);
        if (match?.[1] && output.includes('Press Ctrl-C to stop.')) resolve(match[1]);
      });
      child.once('exit', (code) => reject(new Error(`npm run local exited early (${code}): ${output}`)));
    });
    expect(existsSync(endpointFile)).toBe(true);
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Export my data');

    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output).toContain('SIGINT: stopping the embedded stack…');
    expect(output).toContain('Stopped.');
    expect(existsSync(endpointFile)).toBe(false);
    await expect(fetch(`${url}/`)).rejects.toThrow();
  });
});

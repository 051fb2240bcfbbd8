// Each function runs locally with only the configuration variables the template gives it in AWS: one the
// template forgot is a cold-start failure on the embedded stack, naming the variable, not a surprise in AWS.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { EmbeddedStack, LOCAL_SENDER } from '../../local/embedded-stack.ts';
import { synthesize } from '../../local/iam/stack-template.ts';
import { writeDataMap } from '../support/data-map-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'function-env-'));
const dataMapFile = writeDataMap(dir, [{ id: 'profile', category: 'account', type: 'dynamodb', table: 'Users', partitionKey: 'userId', keyTemplate: '{userId}' }]);

it('refuses to start when the template does not give a function a variable its handler reads', async () => {
  const stack = await synthesize({ dataMapFile, senderEmail: LOCAL_SENDER });
  const sendLink = stack.template.Resources[stack.ids.functions.SendLink ?? '']?.Properties as { Environment: { Variables: Record<string, unknown> } };
  delete sendLink.Environment.Variables.PUBLIC_BASE_URL;
  await expect(EmbeddedStack.start({ dataMapFile, stackTemplate: stack })).rejects.toThrow("The function's configuration is incomplete: PUBLIC_BASE_URL is not set.");
  // The stack it would have been is not left half-started: a complete one starts after it.
  const complete = await EmbeddedStack.start({ dataMapFile });
  await complete.stop();
});

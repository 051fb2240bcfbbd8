// Which API the CLI talks to: the embedded stack (`--local`, from the endpoint file `npm run local`
// writes), or a deployed stack (`--api URL`, $USER_DATA_EXPORT_API_URL, or the ApiUrl output of the
// CloudFormation stack) with the standard AWS credential chain.
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import * as z from 'zod';
import { regionOfApi } from './signed-request.ts';
import type { ApiTarget } from './support-client.ts';

export const DEFAULT_ENDPOINT_FILE = resolve('.local', 'endpoint.json');

const endpointSchema = z.object({ apiUrl: z.string().url(), region: z.string(), accessKeyId: z.string(), secretAccessKey: z.string() });
export type LocalEndpoint = z.infer<typeof endpointSchema>;

export function writeEndpointFile(path: string, endpoint: LocalEndpoint): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(endpoint, null, 2), { mode: 0o600 });
}

export class TargetError extends Error {
  override name = 'TargetError';
}

export async function resolveTarget(options: { local: boolean; endpointFile?: string; api?: string; stack: string; region?: string }): Promise<ApiTarget> {
  if (options.local) {
    const file = options.endpointFile ?? DEFAULT_ENDPOINT_FILE;
    if (!existsSync(file)) throw new TargetError(`No local stack is running (${file} is missing). Start one with: npm run local`);
    const endpoint = endpointSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    return { apiUrl: endpoint.apiUrl, region: endpoint.region, credentials: { accessKeyId: endpoint.accessKeyId, secretAccessKey: endpoint.secretAccessKey } };
  }
  const credentials = fromNodeProviderChain();
  const explicit = options.api ?? process.env.USER_DATA_EXPORT_API_URL;
  if (explicit) {
    return { apiUrl: explicit, region: options.region ?? regionOfApi(new URL(explicit), process.env.AWS_REGION ?? 'us-east-1'), credentials };
  }
  const cloudFormation = new CloudFormationClient({ region: options.region });
  let outputs;
  try {
    outputs = (await cloudFormation.send(new DescribeStacksCommand({ StackName: options.stack }))).Stacks?.[0]?.Outputs ?? [];
  } catch (error) {
    throw new TargetError(`Cannot read the outputs of stack ${options.stack} (${(error as Error).message}). Pass --api URL, set USER_DATA_EXPORT_API_URL, or use --local.`);
  }
  const apiUrl = outputs.find((o) => o.OutputKey === 'ApiUrl')?.OutputValue;
  if (!apiUrl) throw new TargetError(`Stack ${options.stack} has no ApiUrl output; is it the user-data-export stack?`);
  return { apiUrl, region: regionOfApi(new URL(apiUrl), options.region ?? 'us-east-1'), credentials };
}

// A Cognito source's collector: the user's identity is one record, read in one call.
import { SourceUnavailableError } from '../../../platform/errors.ts';
import { RecordPart, type CollectCall, type CollectRequest, type CollectResult } from '../../reading.ts';
import type { CognitoSource } from './schema.ts';
import { cognitoColumnTypes, readCognitoUser } from './user.ts';
import { excludedNames } from '../../../data-map/connector.ts';
import { redactionFor } from '../../../values/redaction.ts';

export async function collectCognito(source: CognitoSource, request: CollectRequest, deps: CollectCall): Promise<CollectResult> {
  const cognito = deps.cognito;
  if (!cognito) throw new SourceUnavailableError(source.id, `Source "${source.id}" reads a user pool, which only CollectSource can.`);
  const read = { id: source.id, userPoolId: cognito.userPoolId(source.userPool), match: source.match, exclude: excludedNames(source), details: source.details };
  // Its requests: the user (found by sub: a listing first), the groups, and each detail asked for.
  const requests = 2 + (source.match === 'sub' ? 1 : 0) + (source.details?.length ?? 0);
  const record = await deps.reads.read(() => readCognitoUser(cognito.client, read, request.userId), requests);
  const part = new RecordPart(deps.exportBucket, request);
  if (record) {
    // Redacted first: the cell types are those of what the archive holds.
    redactionFor(source.redact)?.apply(record);
    await part.write(JSON.stringify(record) + '\n', 1, cognitoColumnTypes(record));
  }
  return { ...request, cursor: null, nextPart: await part.close(), records: request.records + part.records, done: true };
}

// Where the embedded stack applies IAM: a middleware on each function's own AWS SDK clients, and the
// same check on the two ports that have no SDK call locally (the link signer, which is KMS GenerateMac/
// VerifyMac in AWS, and the workflow, which is Step Functions StartExecution/StopExecution). A refused
// call fails exactly as AWS fails it: the service's AccessDenied error, before any request is sent.
import { DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import { KMSServiceException } from '@aws-sdk/client-kms';
import { S3ServiceException, type DeleteObjectsCommandOutput } from '@aws-sdk/client-s3';
import { SESv2ServiceException } from '@aws-sdk/client-sesv2';
import { SFNServiceException } from '@aws-sdk/client-sfn';
import type { Workflow } from '../../lambdas/core/lifecycle/export-lifecycle.ts';
import type { LinkSigner } from '../../lambdas/core/delivery/link-token.ts';
import type { SdkClient } from '../../lambdas/core/runtime.ts';
import { LOCAL_LINK_KEY_ARN, LOCAL_STATE_MACHINE_ARN } from './local-resources.ts';
import { STATE_MACHINE, type Denial, type PolicyEnforcer } from './policy-enforcer.ts';
import { authorizationsFor, perObject } from './sdk-actions.ts';

/** The error each service answers a refused request with (S3's code differs from the others'). */
function accessDenied(client: string, denial: Denial): Error {
  const options = { $fault: 'client' as const, $metadata: { httpStatusCode: 403 }, message: denial.message };
  switch (client) {
    case 'S3Client':
      return new S3ServiceException({ ...options, name: 'AccessDenied' });
    case 'DynamoDBClient':
      return new DynamoDBServiceException({ ...options, name: 'AccessDeniedException' });
    case 'KMSClient':
      return new KMSServiceException({ ...options, name: 'AccessDeniedException' });
    case 'SESv2Client':
      return new SESv2ServiceException({ ...options, name: 'AccessDeniedException' });
    case 'SFNClient':
      return new SFNServiceException({ ...options, name: 'AccessDeniedException' });
    default:
      return Object.assign(new Error(denial.message), { name: 'AccessDeniedException' });
  }
}

/** Checks one request as `functionName`; throws the service's AccessDenied when AWS would refuse it. */
export async function authorize(enforcer: PolicyEnforcer, functionName: string, client: string, command: string, input: unknown): Promise<void> {
  const denial = await enforcer.check(functionName, authorizationsFor(client, command, input, enforcer.keys));
  if (denial) throw accessDenied(client, denial);
}

interface MiddlewareClient {
  middlewareStack: { add(middleware: unknown, options: { step: 'initialize'; name: string; priority: 'high' }): void };
}

type Next = (args: { input: Record<string, unknown> }) => Promise<{ output: unknown; response: unknown }>;
type Context = { clientName?: string; commandName?: string };

/**
 * DeleteObjects is authorized key by key: refused keys stay and come back in Errors, the rest are
 * deleted, and the answer is a 200, as S3 does it. Code that ignores Errors loses nothing visibly here
 * either, which is why it must read them.
 */
async function deleteObjectsAs(enforcer: PolicyEnforcer, functionName: string, args: { input: Record<string, unknown> }, next: Next) {
  const input = args.input as Parameters<typeof perObject>[0] & { Delete: { Objects: { Key?: string }[] } };
  const allowed: { Key: string }[] = [];
  const refused: { Key: string; Code: string; Message: string }[] = [];
  for (const { key, authorization } of perObject(input)) {
    const denial = await enforcer.check(functionName, [authorization]);
    if (denial) refused.push({ Key: key, Code: 'AccessDenied', Message: denial.message });
    else allowed.push({ Key: key });
  }
  if (refused.length === 0) return next(args);
  if (allowed.length === 0) return { output: { $metadata: { httpStatusCode: 200 }, Errors: refused } satisfies DeleteObjectsCommandOutput, response: {} };
  const result = await next({ ...args, input: { ...input, Delete: { ...input.Delete, Objects: allowed } } });
  const output = result.output as DeleteObjectsCommandOutput;
  output.Errors = [...(output.Errors ?? []), ...refused];
  return result;
}

/** A function's own client, checking every command against its role before sending it. */
export function enforceClient<C extends SdkClient>(client: C, functionName: string, enforcer: PolicyEnforcer): C {
  (client as unknown as MiddlewareClient).middlewareStack.add(
    (next: Next, context: Context) => async (args: { input: Record<string, unknown> }) => {
      const clientName = context.clientName ?? '';
      const commandName = context.commandName ?? '';
      if (clientName === 'S3Client' && commandName === 'DeleteObjectsCommand') return deleteObjectsAs(enforcer, functionName, args, next);
      await authorize(enforcer, functionName, clientName, commandName, args.input);
      return next(args);
    },
    { step: 'initialize', name: 'localIamEnforcement', priority: 'high' },
  );
  return client;
}

/**
 * A connection to a database the data map declares, allowed only where the function's role allows
 * rds-db:connect for the database's user (IAM authentication through RDS Proxy). Refused, it fails as
 * the proxy refuses a token: an authentication error (SQLSTATE 28P01, which the collector does not
 * retry), named AccessDeniedException and carrying the denial's message.
 */
export async function authorizeDatabaseConnect(enforcer: PolicyEnforcer, functionName: string, database: string): Promise<void> {
  const denial = await enforcer.check(functionName, [enforcer.databaseConnect(database)]);
  if (denial) throw Object.assign(new Error(denial.message), { name: 'AccessDeniedException', code: '28P01', severity: 'FATAL' });
}

/** The local HMAC signer, allowed only where the function's role allows KMS GenerateMac / VerifyMac. */
export function enforceSigner(signer: LinkSigner, functionName: string, enforcer: PolicyEnforcer): LinkSigner {
  const as = (command: string) => authorize(enforcer, functionName, 'KMSClient', command, { KeyId: LOCAL_LINK_KEY_ARN, MacAlgorithm: 'HMAC_SHA_256' });
  return {
    async sign(message) {
      await as('GenerateMacCommand');
      return signer.sign(message);
    },
    async verify(message, mac) {
      await as('VerifyMacCommand');
      return signer.verify(message, mac);
    },
  };
}

/** A function invoked only where its invoker's role allows it: a Task's by the state machine's, the sweep's by its schedule's. */
export function enforceInvoke<H extends (event: never, context: never) => Promise<unknown>>(
  handler: H,
  functionName: string,
  enforcer: PolicyEnforcer,
  invoker = STATE_MACHINE,
): H {
  const invoke = async (event: never, context: never) => {
    await authorize(enforcer, invoker, 'LambdaClient', 'InvokeCommand', { FunctionName: enforcer.functionArns[functionName] });
    return handler(event, context);
  };
  return invoke as H;
}

/** The local runner, allowed only where the function's role allows StartExecution / StopExecution. */
export function enforceWorkflow(workflow: Workflow, functionName: string, enforcer: PolicyEnforcer): Workflow {
  return {
    async start(exportId, input) {
      await authorize(enforcer, functionName, 'SFNClient', 'StartExecutionCommand', { stateMachineArn: LOCAL_STATE_MACHINE_ARN, name: exportId });
      return workflow.start(exportId, input);
    },
    async stop(exportId) {
      const executionArn = `${LOCAL_STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${exportId}`;
      await authorize(enforcer, functionName, 'SFNClient', 'StopExecutionCommand', { executionArn });
      return workflow.stop(exportId);
    },
  };
}

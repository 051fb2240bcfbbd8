// The adapters that only exist in AWS, at the client level (no emulator exists for Step Functions' API
// or KMS MACs): each test asserts the exact request sent and answers with the response or error shapes
// the service documents.
import { GenerateMacCommand, KMSClient, KMSInvalidMacException, NotFoundException, VerifyMacCommand } from '@aws-sdk/client-kms';
import { ExecutionAlreadyExists, ExecutionDoesNotExist, SFNClient, StartExecutionCommand, StateMachineDoesNotExist, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { StepFunctionsWorkflow } from '../../lambdas/core/lifecycle/step-functions-workflow.ts';
import { KmsLinkSigner } from '../../lambdas/core/delivery/link-token.ts';

const MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:WorkflowStateMachine8F1B1C15-AbC';
const EXECUTION = 'arn:aws:states:eu-west-1:123456789012:execution:WorkflowStateMachine8F1B1C15-AbC:0b6e2d6e-1f7a-4c1e-9d65-4b1f0d3c2a11';
const EXPORT_ID = '0b6e2d6e-1f7a-4c1e-9d65-4b1f0d3c2a11';
const KEY = 'arn:aws:kms:eu-west-1:123456789012:key/6f1e6c1a-0000-4000-8000-000000000001';
const metadata = { $metadata: { httpStatusCode: 400 } };

const sfn = mockClient(SFNClient);
const kms = mockClient(KMSClient);
afterEach(() => {
  sfn.reset();
  kms.reset();
});

describe('the Step Functions workflow adapter', () => {
  const workflow = () => new StepFunctionsWorkflow(new SFNClient({ region: 'eu-west-1' }), MACHINE);

  it('starts an execution named after the export, with the workflow input as JSON', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date('2026-12-01T10:00:00Z') });
    await workflow().start(EXPORT_ID, { exportId: EXPORT_ID, userId: 'u-1001' });
    expect(sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input)).toEqual([
      { stateMachineArn: MACHINE, name: EXPORT_ID, input: JSON.stringify({ exportId: EXPORT_ID, userId: 'u-1001' }) },
    ]);
  });

  it('treats an execution of that name that already exists as this export’s own start', async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: `Execution Already Exists: '${EXECUTION}'`, ...metadata }));
    await expect(workflow().start(EXPORT_ID, { exportId: EXPORT_ID, userId: 'u-1001' })).resolves.toBeUndefined();
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });

  it('lets every other refusal through, so the job is failed and the lock freed', async () => {
    sfn.on(StartExecutionCommand).rejects(new StateMachineDoesNotExist({ message: `State Machine Does Not Exist: '${MACHINE}'`, ...metadata }));
    await expect(workflow().start(EXPORT_ID, { exportId: EXPORT_ID, userId: 'u-1001' })).rejects.toThrow(StateMachineDoesNotExist);
  });

  it('stops the execution of that name, and is done when it has already ended', async () => {
    sfn
      .on(StopExecutionCommand)
      .resolvesOnce({ stopDate: new Date('2026-12-01T10:01:00Z') })
      .rejectsOnce(new ExecutionDoesNotExist({ message: `Execution Does Not Exist: '${EXECUTION}'`, ...metadata }));
    await workflow().stop(EXPORT_ID);
    await workflow().stop(EXPORT_ID);
    expect(sfn.commandCalls(StopExecutionCommand).map((c) => c.args[0].input)).toEqual([
      { executionArn: EXECUTION, cause: 'Cancelled by request' },
      { executionArn: EXECUTION, cause: 'Cancelled by request' },
    ]);
  });
});

describe('the KMS link signer', () => {
  const signer = () => new KmsLinkSigner(new KMSClient({ region: 'eu-west-1' }), KEY);
  const message = new TextEncoder().encode('0b6e2d6e.u-1001.link-1.1764583200');
  const mac = new Uint8Array(32).fill(7);

  it('signs with GenerateMac, HMAC-SHA-256, on the link key', async () => {
    kms.on(GenerateMacCommand).resolves({ Mac: mac, MacAlgorithm: 'HMAC_SHA_256', KeyId: KEY });
    expect(await signer().sign(message)).toEqual(mac);
    expect(kms.commandCalls(GenerateMacCommand).map((c) => c.args[0].input)).toEqual([{ KeyId: KEY, MacAlgorithm: 'HMAC_SHA_256', Message: message }]);
  });

  it('refuses an answer without a MAC rather than signing with nothing', async () => {
    kms.on(GenerateMacCommand).resolves({ MacAlgorithm: 'HMAC_SHA_256', KeyId: KEY });
    await expect(signer().sign(message)).rejects.toThrow('KMS returned no MAC.');
  });

  it('verifies with VerifyMac: a valid MAC is true, one KMS rejects (KMSInvalidMacException) is false', async () => {
    kms
      .on(VerifyMacCommand)
      .resolvesOnce({ KeyId: KEY, MacValid: true, MacAlgorithm: 'HMAC_SHA_256' })
      .rejectsOnce(new KMSInvalidMacException({ message: 'The MAC does not match', ...metadata }));
    expect(await signer().verify(message, mac)).toBe(true);
    expect(await signer().verify(message, new Uint8Array(32))).toBe(false);
    expect(kms.commandCalls(VerifyMacCommand).map((c) => c.args[0].input)).toEqual([
      { KeyId: KEY, MacAlgorithm: 'HMAC_SHA_256', Message: message, Mac: mac },
      { KeyId: KEY, MacAlgorithm: 'HMAC_SHA_256', Message: message, Mac: new Uint8Array(32) },
    ]);
  });

  it('lets other failures through (a missing key is an outage, not a bad link)', async () => {
    kms.on(VerifyMacCommand).rejects(new NotFoundException({ message: `Key '${KEY}' does not exist`, ...metadata }));
    await expect(signer().verify(message, mac)).rejects.toThrow(NotFoundException);
  });
});

// The deploy-time class of bugs, checked on the synthesized template as CloudFormation and the services
// would check it when `cdk deploy` runs: what the stage's RouteSettings name must exist first; a topic or
// queue policy (which replaces the service's default) must still let its publishers in; and nothing
// retained may carry a fixed physical name, or the next deploy after a delete collides with it.
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_ACCOUNT, LocalResources } from '../../local/iam/local-resources.ts';
import { synthesize, type CfnResource, type CfnTemplate } from '../../local/iam/stack-template.ts';

let template: CfnTemplate;
let resources: LocalResources;
beforeAll(async () => {
  const stack = await synthesize({ dataMapFile: 'config/data-map.json', senderEmail: 'privacy@cartropic.com' });
  template = stack.template;
  resources = new LocalResources(stack.template, stack.ids);
});

const ofType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);
const dependsOn = (resource: CfnResource) => (Array.isArray(resource.DependsOn) ? resource.DependsOn : resource.DependsOn ? [resource.DependsOn] : []);
const refersTo = (value: unknown, logicalId: string): boolean => JSON.stringify(value ?? null).includes(`"${logicalId}"`);

describe('API Gateway stages', () => {
  it('depend on every route their RouteSettings name, so CloudFormation creates the routes first', () => {
    const stages = ofType('AWS::ApiGatewayV2::Stage');
    expect(stages.length).toBeGreaterThan(0);
    let checked = 0;
    for (const [stageId, stage] of stages) {
      for (const routeKey of Object.keys((stage.Properties?.RouteSettings as Record<string, unknown> | undefined) ?? {})) {
        const route = ofType('AWS::ApiGatewayV2::Route').find(
          ([, r]) => r.Properties?.RouteKey === routeKey && JSON.stringify(r.Properties.ApiId) === JSON.stringify(stage.Properties?.ApiId),
        );
        expect(route, `${stageId}: RouteSettings name "${routeKey}", which is no route of its API`).toBeDefined();
        expect(dependsOn(stage), `${stageId} must depend on the route "${routeKey}"`).toContain(route?.[0]);
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThan(0);
  });
});

/** Who publishes to a topic or queue: alarms that act on it (CloudWatch) and rules that target it (EventBridge). */
function publishersOf(logicalId: string): string[] {
  const services = new Set<string>();
  for (const [, alarm] of ofType('AWS::CloudWatch::Alarm')) {
    const actions = ['AlarmActions', 'OKActions', 'InsufficientDataActions'].map((k) => alarm.Properties?.[k]);
    if (refersTo(actions, logicalId)) services.add('cloudwatch.amazonaws.com');
  }
  for (const [, rule] of ofType('AWS::Events::Rule')) if (refersTo(rule.Properties?.Targets, logicalId)) services.add('events.amazonaws.com');
  return [...services];
}

async function decision(policy: unknown, principal: string, action: string, resource: string, sourceAccount: string) {
  const response = await runSimulation(
    {
      identityPolicies: [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: policy,
      request: { principal, action, resource: { resource, accountId: LOCAL_ACCOUNT }, contextVariables: { 'aws:SourceAccount': sourceAccount, 'aws:SecureTransport': 'true' } },
    },
    {},
  );
  if (response.resultType === 'error') throw new Error(JSON.stringify(response.errors));
  return response.overallResult;
}

describe('topic and queue policies', () => {
  it('still let every service that publishes to them in, and only on behalf of this account', async () => {
    const policies = [
      ...ofType('AWS::SNS::TopicPolicy').map(([, p]) => ({ p, targets: p.Properties?.Topics, action: 'sns:Publish' })),
      ...ofType('AWS::SQS::QueuePolicy').map(([, p]) => ({ p, targets: p.Properties?.Queues, action: 'sqs:SendMessage' })),
    ];
    expect(policies.length).toBeGreaterThan(0);
    let checked = 0;
    for (const { p, targets, action } of policies) {
      const document = resources.resolve(p.Properties?.PolicyDocument);
      for (const target of targets as unknown[]) {
        const logicalId = (target as { Ref?: string }).Ref ?? '';
        const arn = String(resources.resolve(target));
        for (const service of publishersOf(logicalId)) {
          expect(await decision(document, service, action, arn, LOCAL_ACCOUNT), `${service} publishing to ${logicalId}`).toBe('Allowed');
          expect(await decision(document, service, action, arn, '111122223333'), `${service} for another account, to ${logicalId}`).not.toBe('Allowed');
          checked += 1;
        }
      }
    }
    // The alarm topic is published to by CloudWatch: at least that pair was checked.
    expect(checked).toBeGreaterThan(0);
  });
});

/** The properties that fix a resource's physical name, by type (those this stack's resource types have). */
const NAME_PROPERTIES: Record<string, string> = {
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::S3::Bucket': 'BucketName',
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::KMS::Alias': 'AliasName',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::StepFunctions::StateMachine': 'StateMachineName',
  'AWS::Cognito::UserPool': 'UserPoolName',
};

describe('retained resources', () => {
  it('have no fixed physical names, so deploying again after a delete does not collide with what was kept', () => {
    const retained = Object.entries(template.Resources).filter(([, r]) => r.DeletionPolicy === 'Retain' || r.UpdateReplacePolicy === 'Retain');
    expect(retained.length).toBeGreaterThan(5);
    for (const [id, resource] of retained) {
      const property = NAME_PROPERTIES[resource.Type];
      if (property) expect(resource.Properties?.[property], `${id} (${resource.Type}) is retained with a fixed ${property}`).toBeUndefined();
    }
  });
});

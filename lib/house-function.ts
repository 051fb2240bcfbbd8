// The one way this app makes a Lambda function: Node 22 on ARM, an ESM bundle with the AWS SDK inside,
// minified with source maps, JSON logs into an explicit log group with retention, X-Ray tracing.
import { Duration, Validations } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { resolve } from 'node:path';
import type { FunctionNetwork } from './database-network.ts';

export interface HouseFunctionProps {
  /** The handler module under lambdas/, e.g. 'collect-source' */
  handler: string;
  description: string;
  timeout?: Duration;
  memorySize?: number;
  /** A file copied next to the bundle as data-map.json (the handler reads DATA_MAP_FILE). */
  dataMapFile?: string;
  environment?: Record<string, string>;
  /** Runs in these subnets with this security group (only a function that reads a database inside its VPC). */
  network?: FunctionNetwork;
}

/**
 * What Lambda needs to attach a function to its VPC (the actions of AWSLambdaVPCAccessExecutionRole,
 * granted as statements: no managed policies). Lambda's check of the role when it creates the function
 * expects them on any resource.
 */
const VPC_ACCESS_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
];

export const DATA_MAP_IN_BUNDLE = '/var/task/data-map.json';
const ROOT = resolve(import.meta.dirname, '..');

export class HouseFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: HouseFunctionProps) {
    // Logs may name user ids: kept (the default) after the stack goes, and expired by retention.
    const logGroup = new LogGroup(scope, `${id}Logs`, { retention: RetentionDays.ONE_MONTH });
    const dataMap = props.dataMapFile ? resolve(ROOT, props.dataMapFile) : undefined;
    // Its own role, instead of AWSLambdaBasicExecutionRole's logs:* on every log group: it may write to
    // its own log group and nothing else until a grant helper adds exactly what it needs.
    const role = new Role(scope, `${id}Role`, { assumedBy: new ServicePrincipal('lambda.amazonaws.com'), description: `Runs ${props.handler}` });
    role.addToPolicy(new PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
    const { network } = props;
    if (network) role.addToPolicy(new PolicyStatement({ actions: VPC_ACCESS_ACTIONS, resources: ['*'] }));
    super(scope, id, {
      role,
      entry: resolve(ROOT, 'lambdas', `${props.handler}.ts`),
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: Tracing.ACTIVE,
      loggingFormat: LoggingFormat.JSON,
      logGroup,
      ...(network ? { vpc: network.vpc, vpcSubnets: { subnets: network.subnets }, securityGroups: [network.securityGroup] } : {}),
      depsLockFilePath: resolve(ROOT, 'package-lock.json'),
      projectRoot: ROOT,
      environment: { NODE_OPTIONS: '--enable-source-maps', ...(dataMap ? { DATA_MAP_FILE: DATA_MAP_IN_BUNDLE } : {}), ...props.environment },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // The SDK is bundled (not taken from the runtime) so the version we test is the one we run.
        // pg's optional native binding is loaded only through pg.native, which nothing uses: left out.
        externalModules: ['pg-native'],
        mainFields: ['module', 'main'],
        // CommonJS dependencies inside an ESM bundle still call require().
        banner: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_input: string, output: string) => (dataMap ? [`cp "${dataMap}" "${output}/data-map.json"`] : []),
        },
      },
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason: network
        ? "Only X-Ray's PutTraceSegments and PutTelemetryRecords and the network interface actions Lambda needs to run the function in its VPC, which it checks on any resource (test/infrastructure asserts no other action has a * resource)."
        : "Only X-Ray's PutTraceSegments and PutTelemetryRecords, which support no resource-level permissions (test/infrastructure asserts no other action has a * resource).",
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions::AwsSolutions-L1',
      reason: 'Node.js 22 is the runtime this code is built and tested for (the local stack runs the same major); a newer runtime is adopted deliberately, with its tests.',
    });
  }
}

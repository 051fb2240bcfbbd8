// The one place where the synthesized template's resources meet the embedded stack's: the local name of
// each resource the stack plays (the jobs table, the export bucket, the two keys, the state machine), the
// account and region it pretends to be, and the resolution of CloudFormation's intrinsics (Ref, GetAtt,
// Join, Sub) to the ARNs the handlers really use locally. A resource with no local counterpart keeps its
// logical id as its name, as a stand-in for the name CloudFormation would generate.
import { AWS_USER_POOL } from '../../lambdas/core/collect/connectors/cognito/schema.ts';
import { AWS_DATABASE } from '../../lambdas/core/collect/connectors/postgres/schema.ts';
import { createHash } from 'node:crypto';
import type { CfnTemplate, StackResourceIds } from './stack-template.ts';

export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_PARTITION = 'aws';

/** Physical names of the resources the embedded stack creates or stands in for. */
export const LOCAL_NAMES = {
  jobsTable: 'ExportJobs',
  exportBucket: 'user-data-exports-local',
  dataKeyId: 'local-export-key',
  linkKeyId: 'local-link-key',
  stateMachineName: 'UserDataExport-local',
} as const;

const arn = (service: string, resource: string, region = LOCAL_REGION, account = LOCAL_ACCOUNT) => `arn:${LOCAL_PARTITION}:${service}:${region}:${account}:${resource}`;

export const localArns = {
  table: (name: string) => arn('dynamodb', `table/${name}`),
  bucket: (name: string) => `arn:${LOCAL_PARTITION}:s3:::${name}`,
  key: (id: string) => arn('kms', `key/${id}`),
  stateMachine: (name: string) => arn('states', `stateMachine:${name}`),
  role: (name: string) => `arn:${LOCAL_PARTITION}:iam::${LOCAL_ACCOUNT}:role/${name}`,
  sesIdentity: (identity: string) => arn('ses', `identity/${identity}`),
  userPool: (id: string) => arn('cognito-idp', `userpool/${id}`),
  databaseUser: (proxyResourceId: string, user: string) => arn('rds-db', `dbuser:${proxyResourceId}/${user}`),
};

/** The user the embedded stack's databases are reached as, and the one the template grants rds-db:connect for when a database names none. */
export const LOCAL_DATABASE_USER = 'postgres';

/** Where a database without an `aws` block is, for synthesis: one VPC, subnet and security group of the right shape. */
export const LOCAL_DATABASE_NETWORK = { vpcId: 'vpc-00000000000000000', subnetIds: ['subnet-00000000000000000'], securityGroupId: 'sg-00000000000000000' } as const;

/** The proxy named in the resource of a local rds-db:connect when a database names no proxyResourceId. */
export const LOCAL_PROXY_RESOURCE_ID = 'prx-local';

/**
 * The id the synthesized template gives a user pool the data map declares without an `aws` block:
 * deterministic (the template cache depends on it) and shaped as Cognito shapes ids.
 */
export function localUserPoolId(name: string): string {
  return `${LOCAL_REGION}_local${createHash('sha256').update(name).digest('hex').slice(0, 12)}`;
}

type Entries = Record<string, { aws?: unknown } & Record<string, unknown>>;

/**
 * The data map the embedded stack's template is synthesized from: the map itself, with local stand-in
 * settings for every database and user pool without a deployable `aws` block (none, or placeholders; the embedded
 * stack does not). Works on the raw file's JSON and on a parsed map alike, and gives both the same ids.
 */
export function withLocalStandIns<M extends { databases?: unknown; userPools?: unknown }>(map: M): M {
  // An aws block that could not be deployed (absent, or the "…" placeholders) is one the embedded
  // stack has no use for either: the stand-in's values take its place.
  const fill = (entries: unknown, deployable: { safeParse(value: unknown): { success: boolean } }, standIn: (name: string) => unknown): unknown =>
    entries !== null && typeof entries === 'object'
      ? Object.fromEntries(Object.entries(entries as Entries).map(([name, entry]) => [name, deployable.safeParse(entry.aws).success ? entry : { ...entry, aws: standIn(name) }]))
      : entries;
  return {
    ...map,
    ...(map.databases === undefined
      ? {}
      : {
          databases: fill(map.databases, AWS_DATABASE, () => ({
            proxyEndpoint: '127.0.0.1',
            port: 5432,
            user: LOCAL_DATABASE_USER,
            ...LOCAL_DATABASE_NETWORK,
            subnetIds: [...LOCAL_DATABASE_NETWORK.subnetIds],
          })),
        }),
    ...(map.userPools === undefined ? {} : { userPools: fill(map.userPools, AWS_USER_POOL, (name) => ({ userPoolId: localUserPoolId(name) })) }),
  };
}

export const LOCAL_DATA_KEY_ARN = localArns.key(LOCAL_NAMES.dataKeyId);
export const LOCAL_LINK_KEY_ARN = localArns.key(LOCAL_NAMES.linkKeyId);
export const LOCAL_STATE_MACHINE_ARN = localArns.stateMachine(LOCAL_NAMES.stateMachineName);

const PSEUDO: Record<string, string> = {
  'AWS::Partition': LOCAL_PARTITION,
  'AWS::Region': LOCAL_REGION,
  'AWS::AccountId': LOCAL_ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
};

type Attribute = (name: string) => string;
/** Ref and GetAtt by resource type, as CloudFormation documents them for each. */
const BY_TYPE: Record<string, { ref: Attribute; attributes: Record<string, Attribute> }> = {
  'AWS::DynamoDB::Table': { ref: (n) => n, attributes: { Arn: localArns.table } },
  'AWS::S3::Bucket': { ref: (n) => n, attributes: { Arn: localArns.bucket } },
  'AWS::KMS::Key': { ref: (n) => n, attributes: { Arn: localArns.key, KeyId: (n) => n } },
  'AWS::StepFunctions::StateMachine': { ref: localArns.stateMachine, attributes: { Arn: localArns.stateMachine, Name: (n) => n } },
  'AWS::IAM::Role': { ref: (n) => n, attributes: { Arn: localArns.role } },
  'AWS::Logs::LogGroup': { ref: (n) => n, attributes: { Arn: (n) => arn('logs', `log-group:${n}:*`) } },
  'AWS::Lambda::Function': { ref: (n) => n, attributes: { Arn: (n) => arn('lambda', `function:${n}`) } },
  'AWS::SNS::Topic': { ref: (n) => arn('sns', n), attributes: { TopicArn: (n) => arn('sns', n) } },
};

export class LocalResources {
  private readonly names: Record<string, string>;

  constructor(
    readonly template: CfnTemplate,
    readonly ids: StackResourceIds,
  ) {
    this.names = {
      [ids.jobsTable]: LOCAL_NAMES.jobsTable,
      [ids.exportBucket]: LOCAL_NAMES.exportBucket,
      [ids.dataKey]: LOCAL_NAMES.dataKeyId,
      [ids.linkKey]: LOCAL_NAMES.linkKeyId,
      [ids.stateMachine]: LOCAL_NAMES.stateMachineName,
    };
  }

  /** The local name of a template resource. */
  nameOf(logicalId: string): string {
    return this.names[logicalId] ?? logicalId;
  }

  private resource(logicalId: string) {
    const resource = this.template.Resources[logicalId];
    if (!resource) throw new Error(`The template has no resource "${logicalId}".`);
    const kind = BY_TYPE[resource.Type];
    if (!kind) throw new Error(`Resolving references to ${resource.Type} ("${logicalId}") is not supported by local/iam/local-resources.ts.`);
    return kind;
  }

  ref(logicalId: string): string {
    return PSEUDO[logicalId] ?? this.resource(logicalId).ref(this.nameOf(logicalId));
  }

  getAtt(logicalId: string, attribute: string): string {
    const get = this.resource(logicalId).attributes[attribute];
    if (!get) throw new Error(`GetAtt ${logicalId}.${attribute} is not supported by local/iam/local-resources.ts.`);
    return get(this.nameOf(logicalId));
  }

  /** A template value with every intrinsic replaced by its local value. */
  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    const [first] = entries;
    if (entries.length === 1 && first && (first[0] === 'Ref' || first[0].startsWith('Fn::'))) return this.intrinsic(first[0], first[1]);
    return Object.fromEntries(entries.map(([k, v]) => [k, this.resolve(v)]));
  }

  private intrinsic(name: string, argument: unknown): unknown {
    switch (name) {
      case 'Ref':
        return this.ref(argument as string);
      case 'Fn::GetAtt': {
        const [id, attribute] = Array.isArray(argument) ? (argument as string[]) : String(argument).split('.');
        return this.getAtt(id ?? '', attribute ?? '');
      }
      case 'Fn::Join': {
        const [separator, parts] = argument as [string, unknown[]];
        return (this.resolve(parts) as unknown[]).join(separator);
      }
      case 'Fn::Sub': {
        const [text, variables] = typeof argument === 'string' ? [argument, {}] : (argument as [string, Record<string, unknown>]);
        return text.replace(/\$\{([^}]+)\}/g, (_whole, reference: string) => {
          if (reference in variables) return String(this.resolve(variables[reference]));
          const [id, attribute] = reference.split('.');
          return attribute ? this.getAtt(id ?? '', attribute) : this.ref(id ?? '');
        });
      }
      case 'Fn::Select': {
        const [index, list] = argument as [number, unknown];
        return (this.resolve(list) as unknown[])[Number(index)];
      }
      case 'Fn::Split': {
        const [separator, text] = argument as [string, unknown];
        return String(this.resolve(text)).split(separator);
      }
      default:
        throw new Error(`The intrinsic ${name} is not supported by local/iam/local-resources.ts.`);
    }
  }
}

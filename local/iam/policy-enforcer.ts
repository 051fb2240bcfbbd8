// IAM as AWS evaluates it, for the embedded stack: every request a function makes is checked against
// that function's role in the synthesized template (its identity policies), plus the resource policy
// of what it touches (the export bucket's policy, a KMS key's policy), by a real IAM policy evaluator
// (@cloud-copilot/iam-simulate). The emulators allow everything; this makes the local stack refuse what
// AWS would refuse, with the same AccessDenied, naming the function, the action and the resource.
import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { DataMap } from '../../lambdas/core/data-map/data-map.ts';
import { LOCAL_ACCOUNT, LOCAL_NAMES, LOCAL_PROXY_RESOURCE_ID, localArns, LocalResources, withLocalStandIns } from './local-resources.ts';
import type { Authorization, KeyLookup } from './sdk-actions.ts';
import type { SynthesizedStack } from './stack-template.ts';

interface PolicyDocument {
  Version?: string;
  Statement: { Effect: string; Action?: string | string[]; Resource?: string | string[]; [key: string]: unknown }[];
}

export interface Decision {
  functionName: string;
  action: string;
  /** The resource it was allowed on, or the first one asked for when refused. */
  resource: string;
  /** Every resource the request could be authorized against (SES: the address or its domain). */
  candidates: string[];
  allowed: boolean;
}

export interface PolicyEnforcerOptions {
  /**
   * The id of each user pool the data map declares, by its name, as the local stand-in (cognito-local)
   * created it. A request naming one of these ids is authorized against the pool's id in the template.
   */
  userPools?: Record<string, string>;
}

export interface Denial {
  functionName: string;
  action: string;
  resource: string;
  message: string;
}

/** What a KMS key's policy is when the template does not hold the key: the default, which lets IAM decide. */
const DEFAULT_KEY_POLICY: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${LOCAL_ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }],
};

/** The principal name of the state machine's role, which invokes the workflow's functions. */
export const STATE_MACHINE = 'StateMachine';
/** The name the sweep schedule's role is checked under (it invokes SweepExports, as the state machine's invokes Tasks). */
export const SWEEP_SCHEDULE = 'SweepSchedule';

const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]);

/** An IAM Resource pattern as a regular expression: "*" any run of characters ("/" included), "?" any one; case-sensitive. Only for patterns whose first five segments hold no wildcard (see objectPatterns). */
function wildcardPattern(pattern: string): RegExp {
  // No "s" flag: as in the evaluator, "*" and "?" do not match a line break.
  return new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
}

export class PolicyEnforcer {
  /** Every authorization decided, in order: what each function did and was allowed to do. */
  readonly decisions: Decision[] = [];
  readonly keys: KeyLookup;
  /** Each function's ARN as the state machine's role names it (local stand-ins for the generated names). */
  readonly functionArns: Record<string, string>;
  private readonly resources: LocalResources;
  private readonly roles = new Map<string, { principal: string; policies: PolicyDocument[] }>();
  private readonly bucketPolicies = new Map<string, PolicyDocument>();
  private readonly keyPolicies = new Map<string, PolicyDocument>();
  private readonly memo = new Map<string, Promise<string | undefined>>();
  private readonly patternsByBucket = new Map<string, RegExp[] | null>();

  /** Each database's user and proxy as the template was synthesized with them (local stand-ins where the map has no aws block). */
  private readonly databases: Map<string, { user: string; proxyResourceId?: string }>;

  constructor(stack: SynthesizedStack, dataMap: DataMap, options: PolicyEnforcerOptions = {}) {
    const resources = new LocalResources(stack.template, stack.ids);
    const synthesizedMap = withLocalStandIns(dataMap);
    this.databases = new Map(Object.entries(synthesizedMap.databases ?? {}).flatMap(([name, db]) => (db.aws ? [[name, db.aws] as const] : [])));
    const poolIds = new Map(
      Object.entries(options.userPools ?? {}).flatMap(([name, localId]) => {
        const id = synthesizedMap.userPools?.[name]?.aws?.userPoolId;
        return id ? [[localId, id] as const] : [];
      }),
    );
    this.resources = resources;
    const all = Object.entries(stack.template.Resources);
    for (const [, resource] of all) {
      if (resource.Type === 'AWS::S3::BucketPolicy') {
        this.bucketPolicies.set(String(resources.resolve(resource.Properties?.Bucket)), resources.resolve(resource.Properties?.PolicyDocument) as PolicyDocument);
      }
    }
    for (const [id, resource] of all) {
      if (resource.Type === 'AWS::KMS::Key') this.keyPolicies.set(resources.getAtt(id, 'Arn'), resources.resolve(resource.Properties?.KeyPolicy) as PolicyDocument);
    }
    const jobsKey = resources.resolve((stack.template.Resources[stack.ids.jobsTable]?.Properties?.SSESpecification as { KMSMasterKeyId?: unknown } | undefined)?.KMSMasterKeyId);
    const bucketEncryption = resources.resolve(stack.template.Resources[stack.ids.exportBucket]?.Properties?.BucketEncryption) as
      { ServerSideEncryptionConfiguration?: { ServerSideEncryptionByDefault?: { KMSMasterKeyID?: string } }[] } | undefined;
    const exportKey = bucketEncryption?.ServerSideEncryptionConfiguration?.[0]?.ServerSideEncryptionByDefault?.KMSMasterKeyID;
    const sourceKey = (match: (s: DataMap['sources'][number]) => boolean) => dataMap.sources.flatMap((s) => ('kmsKeyArn' in s && s.kmsKeyArn && match(s) ? [s.kmsKeyArn] : []))[0];
    this.keys = {
      tableKey: (table) => (table === LOCAL_NAMES.jobsTable ? (jobsKey as string | undefined) : sourceKey((s) => s.type === 'dynamodb' && s.table === table)),
      objectKey: (bucket) => (bucket === LOCAL_NAMES.exportBucket ? exportKey : sourceKey((s) => s.type === 's3' && s.bucket === bucket)),
      bucketKey: (bucket) => (bucket === LOCAL_NAMES.exportBucket ? exportKey : undefined),
      userPoolId: (id) => poolIds.get(id) ?? id,
    };
    for (const [name, logicalId] of Object.entries(stack.ids.functions)) this.roles.set(name, this.roleOf(name, logicalId, ['Role']));
    this.roles.set(STATE_MACHINE, this.roleOf(STATE_MACHINE, stack.ids.stateMachine, ['RoleArn']));
    this.roles.set(SWEEP_SCHEDULE, this.roleOf(SWEEP_SCHEDULE, stack.ids.sweepSchedule, ['Target', 'RoleArn']));
    this.functionArns = Object.fromEntries(Object.entries(stack.ids.functions).map(([name, logicalId]) => [name, resources.getAtt(logicalId, 'Arn')]));
  }

  /** The identity policies of a resource's role (its ARN at `rolePath` in the resource's properties): attached AWS::IAM::Policy resources and inline policies. */
  private roleOf(name: string, logicalId: string, rolePath: string[]): { principal: string; policies: PolicyDocument[] } {
    const { Resources } = this.resources.template;
    const roleArn = rolePath.reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key], Resources[logicalId]?.Properties);
    const role = asList((roleArn as { 'Fn::GetAtt'?: string[] } | undefined)?.['Fn::GetAtt'])[0] as string | undefined;
    const roleResource = role ? Resources[role] : undefined;
    if (!role || !roleResource) throw new Error(`${name} has no role in the synthesized template.`);
    if (asList(roleResource.Properties?.ManagedPolicyArns).length > 0) {
      throw new Error(`The role of ${name} has managed policies, which local/iam cannot read from the template; grant with statements instead.`);
    }
    const inline = asList(roleResource.Properties?.Policies).map((p) => (p as { PolicyDocument: unknown }).PolicyDocument);
    const attached = Object.values(Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && asList(r.Properties?.Roles).some((ref) => (ref as { Ref?: string }).Ref === role))
      .map((r) => r.Properties?.PolicyDocument);
    return {
      principal: `arn:aws:sts::${LOCAL_ACCOUNT}:assumed-role/${this.resources.nameOf(role)}/${name}`,
      policies: [...inline, ...attached].map((p) => this.resources.resolve(p) as PolicyDocument),
    };
  }

  /**
   * What RDS Proxy checks when a function connects to a database with IAM authentication: rds-db:connect
   * on the database user it connects as, at the proxy (the data map's user and proxy, or the stand-ins
   * the template was synthesized with).
   */
  databaseConnect(database: string): Authorization {
    const aws = this.databases.get(database);
    if (!aws) throw new Error(`The data map declares no database "${database}".`);
    return { action: 'rds-db:connect', resource: localArns.databaseUser(aws.proxyResourceId ?? LOCAL_PROXY_RESOURCE_ID, aws.user) };
  }

  /** The names of the environment variables the template gives a function. */
  environmentOf(functionName: string): string[] {
    const logicalId = this.resources.ids.functions[functionName];
    const fn = logicalId ? this.resources.template.Resources[logicalId] : undefined;
    if (!fn) throw new Error(`The synthesized template has no function named ${functionName}.`);
    return Object.keys((fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {});
  }

  /** The functions the template defines, by construct id. */
  get functionNames(): string[] {
    return [...this.roles.keys()].filter((name) => name !== STATE_MACHINE && name !== SWEEP_SCHEDULE);
  }

  /** Every action a function's role allows, as written in the template (for least-privilege checks). */
  grantedActions(functionName: string): { action: string; resources: string[] }[] {
    return this.role(functionName).policies.flatMap((policy) =>
      policy.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) =>
        asList(s.Action).map((action) => ({ action: String(action), resources: asList(s.Resource).map(String) })),
      ),
    );
  }

  private role(functionName: string) {
    const role = this.roles.get(functionName);
    if (!role) throw new Error(`The synthesized template has no function named ${functionName}.`);
    return role;
  }

  private resourcePolicy(resource: string): PolicyDocument | undefined {
    if (resource.startsWith('arn:aws:kms:')) return this.keyPolicies.get(resource) ?? DEFAULT_KEY_POLICY;
    const s3 = /^arn:aws:s3:::([^/]+)/.exec(resource);
    return s3 ? this.bucketPolicies.get(s3[1] ?? '') : undefined;
  }

  /** Checks authorizations in order; the first one AWS would refuse is returned. */
  async check(functionName: string, authorizations: Authorization[]): Promise<Denial | undefined> {
    for (const authorization of authorizations) {
      const candidates = asList(authorization.resource).map(String);
      let refusal: string | undefined;
      let allowedOn: string | undefined;
      for (const resource of candidates) {
        refusal = await this.evaluate(functionName, authorization.action, resource, authorization.context ?? {});
        if (refusal === undefined) {
          allowedOn = resource;
          break;
        }
      }
      const resource = allowedOn ?? candidates[0] ?? '';
      this.decisions.push({ functionName, action: authorization.action, resource, candidates, allowed: refusal === undefined });
      if (refusal !== undefined) {
        const { principal } = this.role(functionName);
        return {
          functionName,
          action: authorization.action,
          resource,
          message: `User: ${principal} is not authorized to perform: ${authorization.action} on resource: ${resource} because ${refusal} (function ${functionName}; its role in the synthesized template, enforced by local/iam).`,
        };
      }
    }
    return undefined;
  }

  private evaluate(functionName: string, action: string, resource: string, context: Record<string, string | string[]>): Promise<string | undefined> {
    const key = JSON.stringify([functionName, action, this.objectMatches(functionName, resource) ?? resource, context]);
    let result = this.memo.get(key);
    if (!result) {
      result = this.simulate(functionName, action, resource, context);
      this.memo.set(key, result);
    }
    return result;
  }

  /**
   * What IAM's decision on an S3 object ARN depends on besides the action and the context: its bucket
   * (an object ARN's resource type is always "object") and which Resource and NotResource patterns of
   * the role's and the bucket's statements match it. Two objects alike in these get the same decision,
   * so the evaluator runs once per kind of object instead of once per key: thousands of staged files
   * would otherwise cost seconds of simulation. Undefined (decide for this very ARN) for anything but an
   * object, or when a pattern holds a policy variable, whose value depends on the request.
   */
  private objectMatches(functionName: string, resource: string): string | undefined {
    const object = /^arn:aws:s3:::([^/]+)\/./s.exec(resource);
    // A key with a line break is decided for itself: the evaluator's "*" does not cross one.
    if (!object || /[\n\r\u2028\u2029]/.test(resource)) return undefined;
    const patterns = this.objectPatterns(functionName, resource, object[1] ?? '');
    if (!patterns) return undefined;
    const matched = patterns.map((pattern) => (pattern.test(resource) ? '1' : '0')).join('');
    return `arn:aws:s3:::${object[1]}/(an object matching ${matched})`;
  }

  /**
   * The Resource and NotResource patterns of the role's statements and of `bucket`'s policy, compiled,
   * worked out once per function and bucket; null when one of them keeps objects from sharing decisions.
   */
  private objectPatterns(functionName: string, resource: string, bucket: string): RegExp[] | null {
    const id = `${functionName}\u0000${bucket}`;
    let compiled = this.patternsByBucket.get(id);
    if (compiled === undefined) {
      const resourcePolicy = this.resourcePolicy(resource);
      const patterns = [...this.role(functionName).policies, ...(resourcePolicy ? [resourcePolicy] : [])].flatMap((policy) =>
        policy.Statement.flatMap((statement) => [...asList(statement.Resource), ...asList(statement.NotResource)].map(String)),
      );
      // A policy variable's value depends on the request. The evaluator matches an ARN segment by
      // segment, so a wildcard before the resource part could match across a ":" in the key here.
      const perArn = patterns.some((pattern) => pattern.includes('${') || (pattern !== '*' && /[*?]/.test(pattern.split(':').slice(0, 5).join(':'))));
      compiled = perArn ? null : patterns.map(wildcardPattern);
      this.patternsByBucket.set(id, compiled);
    }
    return compiled;
  }

  private async simulate(functionName: string, action: string, resource: string, context: Record<string, string | string[]>): Promise<string | undefined> {
    const role = this.role(functionName);
    const resourcePolicy = this.resourcePolicy(resource);
    const response = await runSimulation(
      {
        identityPolicies: role.policies.map((policy, i) => ({ name: `policy-${i}`, policy })),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        ...(resourcePolicy ? { resourcePolicy } : {}),
        request: {
          principal: role.principal,
          action,
          resource: { resource, accountId: LOCAL_ACCOUNT },
          // The SDK always uses TLS in AWS; locally it speaks HTTP to the emulators.
          contextVariables: { 'aws:SecureTransport': 'true', 'aws:PrincipalAccount': LOCAL_ACCOUNT, ...context },
        },
      },
      {},
    );
    if (response.resultType === 'error') {
      throw new Error(`The IAM evaluator could not evaluate ${action} on ${resource} for ${functionName}: ${JSON.stringify(response.errors)}`);
    }
    switch (response.overallResult) {
      case 'Allowed':
        return undefined;
      case 'ExplicitlyDenied':
        return `an explicit deny in ${resourcePolicy && this.denies(resourcePolicy) ? 'a resource-based policy' : 'an identity-based policy'}`;
      default:
        return `no identity-based policy allows the ${action} action`;
    }
  }

  private denies(policy: PolicyDocument): boolean {
    return policy.Statement.some((s) => s.Effect === 'Deny');
  }
}

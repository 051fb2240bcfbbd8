// cdk-nag's AwsSolutions checks run on every synth (and in the tests): a finding fails synthesis unless
// it is acknowledged here or at the construct it concerns, with the reason we accept it.
import { Stack, Validations, type App } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type * as CdkNag from 'cdk-nag';
import { createRequire } from 'node:module';

// cdk-nag is CommonJS whose exports Node's ESM loader cannot all see; require() gets them all.
const require = createRequire(import.meta.url);
const cdkNag = require('cdk-nag') as typeof CdkNag;
// The same flattening cdk-nag applies to resources before naming a finding (Ref → <Id>, GetAtt → <Id.Attr>).
const { flattenCfnReference } = require('cdk-nag/lib/utils/flatten-cfn-reference.js') as { flattenCfnReference: (reference: unknown) => string };

export function addNagChecks(app: App): void {
  Validations.of(app).addPlugins(new cdkNag.AwsSolutionsChecks(app, { verbose: true }));
}

/** Acknowledges the IAM5 finding for a wildcard resource (which may contain tokens) on `scope`. */
export function acknowledgeWildcardResource(scope: IConstruct, resource: string, reason: string): void {
  const flat = flattenCfnReference(Stack.of(scope).resolve(resource));
  Validations.of(scope).acknowledge({ id: `AwsSolutions::AwsSolutions-IAM5[Resource::${flat}]`, reason });
}

// The key that signs download links: a KMS HMAC key, so the signing secret never leaves KMS and no
// Lambda ever holds it. SendLink may only generate MACs; Download may only verify them.
import { RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { EnvFunction } from './env-function.ts';

export class LinkSigning extends Construct {
  readonly key: Key;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.key = new Key(this, 'HmacKey', {
      description: 'user-data-export: signs and verifies emailed download links (HMAC-SHA-256)',
      keySpec: KeySpec.HMAC_256,
      keyUsage: KeyUsage.GENERATE_VERIFY_MAC,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  private grant(fn: EnvFunction, action: string): void {
    fn.addEnvironment('LINK_SIGNING_KEY_ID', this.key.keyArn);
    fn.addToRolePolicy(new PolicyStatement({ actions: [action], resources: [this.key.keyArn], conditions: { StringEquals: { 'kms:MacAlgorithm': 'HMAC_SHA_256' } } }));
  }

  grantSign(fn: EnvFunction): void {
    this.grant(fn, 'kms:GenerateMac');
  }

  grantVerify(fn: EnvFunction): void {
    this.grant(fn, 'kms:VerifyMac');
  }
}

// Sending email through SES: only from the configured address, enforced by IAM on both the address and
// its domain identity (whichever one the account verified).
import { Stack } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { EnvFunction } from './env-function.ts';

export class SenderIdentity extends Construct {
  constructor(
    scope: Construct,
    id: string,
    readonly address: string,
  ) {
    super(scope, id);
  }

  grantSend(fn: EnvFunction): void {
    fn.addEnvironment('SENDER_EMAIL', this.address);
    const domain = this.address.split('@')[1] ?? this.address;
    const identity = (name: string) => Stack.of(this).formatArn({ service: 'ses', resource: 'identity', resourceName: name });
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['ses:SendEmail'],
        resources: [identity(this.address), identity(domain)],
        conditions: { StringEquals: { 'ses:FromAddress': this.address } },
      }),
    );
  }
}

// The CDK app: settings from cdk.json context (validated all at once), one stack, and cdk-nag's
// AwsSolutions checks on every synth, so an unsafe change fails `cdk synth` itself.
import { App } from 'aws-cdk-lib';
import { CONTEXT_KEYS, parseAppConfig } from '../lib/app-config.ts';
import { addNagChecks } from '../lib/nag.ts';
import { UserDataExportStack } from '../lib/user-data-export-stack.ts';

const app = new App();
let config;
try {
  config = parseAppConfig(Object.fromEntries(CONTEXT_KEYS.map((key) => [key, app.node.tryGetContext(key) as unknown])));
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
new UserDataExportStack(app, 'UserDataExport', {
  config,
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
addNagChecks(app);

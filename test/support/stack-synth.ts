// Synthesizing the stack for template tests, with the same context (feature flags included) as `cdk synth`.
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { readFileSync } from 'node:fs';
import { parseAppConfig, type AppConfig } from '../../lib/app-config.ts';
import { addNagChecks } from '../../lib/nag.ts';
import { UserDataExportStack } from '../../lib/user-data-export-stack.ts';

export const cdkJsonContext = (JSON.parse(readFileSync('cdk.json', 'utf8')) as { context: Record<string, unknown> }).context;
export const baseContext = { senderEmail: 'privacy@cartropic.com', alarmEmail: 'ops@cartropic.com', dataMapFile: 'config/data-map.json' };

/** Synthesizes the stack; bundling is skipped unless asked for. */
export function synth(context: Record<string, unknown> = {}, options: { bundle?: boolean; nag?: boolean } = {}) {
  const config: AppConfig = parseAppConfig({ ...baseContext, ...context });
  const app = new App({ context: { ...cdkJsonContext, ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }) } });
  const stack = new UserDataExportStack(app, 'UserDataExport', { config });
  if (options.nag) addNagChecks(app);
  return { app, stack, template: Template.fromStack(stack) };
}

export type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: Record<string, unknown>; Principal?: unknown };
export const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
export const resourcesOf = (s: Statement): unknown[] => (Array.isArray(s.Resource) ? (s.Resource as unknown[]) : [s.Resource]);

/** Every statement of the policies attached to the role whose logical id starts with `roleIdPrefix`. */
export function policyOf(template: Template, roleIdPrefix: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  const statements: Statement[] = [];
  for (const policy of Object.values(policies) as { Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: Statement[] } } }[]) {
    if (policy.Properties.Roles.some((r) => r.Ref.startsWith(roleIdPrefix))) statements.push(...policy.Properties.PolicyDocument.Statement);
  }
  return statements;
}

// A synthesized template with one grant taken out: how tests show that the local IAM enforcement
// refuses what the template does not grant.
import type { SynthesizedStack } from '../../local/iam/stack-template.ts';

type Statement = { Action: string | string[]; Resource: unknown };

/** The template with `action` taken out of every statement of `functionName`'s role whose resource mentions `resourceHint`. */
export function withoutGrant(stack: SynthesizedStack, functionName: string, action: string, resourceHint: string): SynthesizedStack {
  const copy = structuredClone(stack);
  const role = (copy.template.Resources[copy.ids.functions[functionName] ?? '']?.Properties?.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
  let removed = 0;
  for (const resource of Object.values(copy.template.Resources)) {
    if (resource.Type !== 'AWS::IAM::Policy' || !JSON.stringify(resource.Properties?.Roles).includes(`"${role}"`)) continue;
    const document = resource.Properties?.PolicyDocument as { Statement: Statement[] };
    for (const statement of document.Statement) {
      const actions = [statement.Action].flat();
      if (actions.includes(action) && JSON.stringify(statement.Resource).includes(resourceHint)) {
        statement.Action = actions.filter((a) => a !== action);
        removed += 1;
      }
    }
    document.Statement = document.Statement.filter((s) => [s.Action].flat().length > 0);
  }
  if (removed === 0) throw new Error(`${functionName} has no ${action} grant on ${resourceHint} to take away.`);
  return copy;
}

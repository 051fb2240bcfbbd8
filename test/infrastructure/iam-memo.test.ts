// The local IAM enforcer decides once per kind of S3 object (its bucket and which policy patterns match
// it), not once per key: a user's thousands of staged files would otherwise cost seconds of simulation
// each run. That shortcut must never change a decision. Here every request is decided twice: by one
// enforcer that has seen many keys before (memo warm), and by a fresh enforcer for that one request
// (nothing to reuse), and the two must agree, allowed and refused alike.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataMapFile, type DataMap } from '../../lambdas/core/data-map/data-map.ts';
import { PolicyEnforcer } from '../../local/iam/policy-enforcer.ts';
import { synthesize, type SynthesizedStack } from '../../local/iam/stack-template.ts';

let stack: SynthesizedStack;
let dataMap: DataMap;

beforeAll(async () => {
  stack = await synthesize({ dataMapFile: 'config/data-map.json', senderEmail: 'privacy@cartropic.com' });
  dataMap = loadDataMapFile('config/data-map.json');
}, 120_000);

const EXPORTS = 'arn:aws:s3:::user-data-exports-local';
const UPLOADS = 'arn:aws:s3:::marketplace-uploads';

describe('the IAM enforcer’s memo', () => {
  it('decides every object request as a fresh evaluation of that very ARN does', { timeout: 120_000 }, async () => {
    const warm = new PolicyEnforcer(stack, dataMap);
    const request = fc.record({
      functionName: fc.constantFrom('CollectSource', 'BundleArchive', 'Download', 'MarkFailed'),
      action: fc.constantFrom('s3:GetObject', 's3:PutObject', 's3:DeleteObject'),
      resource: fc
        .oneof(
          fc.constantFrom(
            `${EXPORTS}/staging/`,
            `${EXPORTS}/archives/`,
            `${EXPORTS}/`,
            `${EXPORTS}/stagingx/`,
            `${UPLOADS}/users/u-1/attachments/`,
            `${UPLOADS}/users/u-1/other/`,
            `${UPLOADS}/users/`,
          ),
        )
        .chain((head) =>
          fc
            .string({
              minLength: 1,
              maxLength: 30,
              unit: fc.oneof(fc.constantFrom('a', '/', '*', '?', ':', '\n', '\r', '\u2028', 'é', '🎉', ' '), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })),
            })
            .map((tail) => `${head}${tail}`),
        ),
    });
    // Keys with line breaks first as well as later: a memo that took one for an ordinary key would
    // decide the ones after it wrongly, whichever came first.
    const samples = [
      { functionName: 'CollectSource', action: 's3:GetObject', resource: `${UPLOADS}/users/u-1/attachments/a\nb.txt` },
      { functionName: 'CollectSource', action: 's3:GetObject', resource: `${UPLOADS}/users/u-1/attachments/ab.txt` },
      ...fc.sample(request, { numRuns: 160, seed: 12 }),
    ];
    let allowed = 0;
    for (const { functionName, action, resource } of samples) {
      const remembered = await warm.check(functionName, [{ action, resource }]);
      const fresh = await new PolicyEnforcer(stack, dataMap).check(functionName, [{ action, resource }]);
      expect(remembered?.message, `${functionName} ${action} ${resource}`).toBe(fresh?.message);
      if (!fresh) allowed += 1;
    }
    // Both kinds of decision were made, so agreement means something.
    expect(allowed).toBeGreaterThan(10);
    expect(samples.length - allowed).toBeGreaterThan(10);
  });
});

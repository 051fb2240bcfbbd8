// The legal facts a test's data map carries so that it answers an access request (GDPR Art. 15(1)):
// the demo map's controller and categories, so every test map says what the demo says.
import { readFileSync } from 'node:fs';
import type { RequestFacts } from '../../lambdas/core/archive/about-this-export.ts';

const demo = JSON.parse(readFileSync(new URL('../../config/data-map.json', import.meta.url), 'utf8')) as { controller: object; categories: object };

export const ANSWER_FACTS = { controller: demo.controller, categories: demo.categories };

/** A map with the demo's legal facts beside its own fields (its own win). */
export function answerable<M extends object>(map: M): M & typeof ANSWER_FACTS {
  return { ...ANSWER_FACTS, ...map };
}

/** The request of an archive built without the workflow (the archive builder's own tests). */
export const TEST_REQUEST: RequestFacts = {
  receivedAt: '2026-03-01T09:00:00.000Z',
  dueBy: '2026-03-31T09:00:00.000Z',
  requestedBy: 'self',
  categories: ['account', 'communication', 'usage'],
};

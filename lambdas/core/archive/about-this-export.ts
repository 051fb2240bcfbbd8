// about-this-export.json: the answer to an access request beside the copy (GDPR Art. 15(1) (a)–(h),
// CCPA's right to know): who answers, what was asked, and for each category exported why it is held,
// on what basis, who receives it, where it came from, how long it is kept and what is decided by
// machine; then what was withheld and what was redacted, and why. index.html shows the same facts first.
import { answerParties, answerProblems, categoryFacts, findSource, type DataMap, type Source } from '../data-map/data-map.ts';
import { CATEGORIES, type Category, type Controller, type Recipient } from '../data-map/privacy-policy.ts';
import type { Job } from '../jobs/job-model.ts';
import { REDACTION_REASON } from '../values/redaction.ts';

/** What the answer says of the request, as PrepareExport read it from the job. */
export interface RequestFacts {
  receivedAt: string;
  dueBy: string;
  requestedBy: 'self' | 'support';
  /** The categories asked for: the user's choice, or every category the data map holds. */
  categories: Category[];
  since?: string;
  until?: string;
}

export interface CategoryAnswer {
  category: Category;
  title: string;
  holds: string;
  purpose: string;
  legalBasis: string;
  recipients: Recipient[];
  origin: string[];
  retention: string;
  automatedDecisions: string;
  /** The policy's circumstances of disclosure (law, merger, consent), beside the named recipients. */
  sharing: string;
  sources: string[];
}

export interface AboutThisExport {
  exportId: string;
  userId: string;
  generatedAt: string;
  controller: Controller;
  rights: string[];
  complaint: string;
  request: RequestFacts & {
    /** With a date range: the exported sources it was applied to, and those it was not (no timeAttribute). */
    rangeAppliedTo?: string[];
    rangeNotAppliedTo?: string[];
  };
  categories: CategoryAnswer[];
  withheld: { sourceId: string; attribute: string; reason: string }[];
  redacted: { sourceId: string; attribute: string; reason: string }[];
  /** What the data map does not state (a map that synth would refuse, run locally): each as its field. */
  incomplete?: string[];
}

/** Why an excluded attribute is withheld when the data map gives no reason (11 CCR §7024(d)). */
export const DEFAULT_WITHHELD_REASON = 'We hold this data but do not disclose it, for security: disclosing it could put your account or your payments at risk.';

/** The request as the job records it. */
export function requestFacts(job: Job, dataMap: DataMap): RequestFacts {
  return {
    receivedAt: job.receivedAt,
    dueBy: job.dueBy,
    requestedBy: job.requestedBy.role === 'user' ? 'self' : 'support',
    categories: job.categories ?? CATEGORIES.filter((c) => dataMap.sources.some((s) => s.category === c)),
    ...(job.since ? { since: job.since } : {}),
    ...(job.until ? { until: job.until } : {}),
  };
}

const timeAttributeOf = (source: Source): string | undefined => ('timeAttribute' in source ? source.timeAttribute : undefined);

/** The answer for an archive of these sources (ids, in the order collected). */
export function buildAboutThisExport(
  dataMap: DataMap,
  fields: { exportId: string; userId: string; generatedAt: string; request: RequestFacts; sourceIds: string[] },
): AboutThisExport {
  const sources = fields.sourceIds.map((id) => findSource(dataMap, id));
  const ranged = fields.request.since !== undefined || fields.request.until !== undefined;
  const categories = CATEGORIES.filter((c) => sources.some((s) => s.category === c)).map((category): CategoryAnswer => {
    const facts = categoryFacts(dataMap, category);
    return {
      category,
      title: facts.title,
      holds: facts.holds,
      purpose: facts.purpose,
      legalBasis: facts.legalBasis,
      recipients: facts.recipients,
      origin: facts.origin,
      retention: facts.retention,
      automatedDecisions: facts.automatedDecisions,
      sharing: facts.sharing,
      sources: sources.filter((s) => s.category === category).map((s) => s.id),
    };
  });
  return {
    exportId: fields.exportId,
    userId: fields.userId,
    generatedAt: fields.generatedAt,
    ...answerParties(dataMap),
    request: {
      ...fields.request,
      ...(ranged
        ? {
            rangeAppliedTo: sources.filter((s) => timeAttributeOf(s) !== undefined).map((s) => s.id),
            rangeNotAppliedTo: sources.filter((s) => timeAttributeOf(s) === undefined).map((s) => s.id),
          }
        : {}),
    },
    categories,
    withheld: sources.flatMap(withheldOf),
    redacted: sources.flatMap((s) => ('redact' in s ? (s.redact ?? []) : []).map((attribute) => ({ sourceId: s.id, attribute, reason: REDACTION_REASON }))),
    ...incompleteOf(dataMap, categories),
  };
}

/** The facts of the exported categories the map does not state, as `categories.<category>.<field>`. */
function incompleteOf(dataMap: DataMap, categories: CategoryAnswer[]): { incomplete?: string[] } {
  const exported = new Set(categories.map((c) => `categories.${c.category}.`));
  const missing = answerProblems(dataMap)
    .map((problem) => problem.slice(0, problem.indexOf(':')))
    .filter((field) => [...exported].some((prefix) => field.startsWith(prefix)));
  return missing.length > 0 ? { incomplete: missing } : {};
}

/**
 * What a source holds and does not disclose: each excluded attribute, and for an allow-list (`include`)
 * everything else, which is named as "*" since the map lists only what is exported.
 */
function withheldOf(source: Source): AboutThisExport['withheld'] {
  const excluded = 'exclude' in source ? (source.exclude ?? []).map((e) => ({ sourceId: source.id, attribute: e.attribute, reason: e.reason ?? DEFAULT_WITHHELD_REASON })) : [];
  if (!('include' in source) || !source.include) return excluded;
  const listed = source.include.map((name) => `"${name}"`).join(', ');
  return [
    ...excluded,
    {
      sourceId: source.id,
      attribute: '*',
      reason: `Only ${listed} are disclosed from this source. Anything else it holds (such as payment tokens or full account numbers) is withheld: ${DEFAULT_WITHHELD_REASON}`,
    },
  ];
}

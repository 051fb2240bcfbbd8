// The first layer of index.html: the answer to an access request in plain words, point by point as
// GDPR Art. 15(1) asks, before any file is listed. Its facts are about-this-export.json's, so the page
// and the machine-readable answer can never say different things.
import type { AboutThisExport, CategoryAnswer } from './about-this-export.ts';
import { escapeHtml, formatDate, listInWords } from '../delivery/wording.ts';

const date = (iso: string) => escapeHtml(formatDate(new Date(iso)));

function recipientsText(answer: CategoryAnswer): string {
  if (answer.recipients.length === 0) return 'Nobody outside our company.';
  const items = answer.recipients.map((r) => {
    const where = r.country
      ? ` (${escapeHtml(r.country)}${r.safeguard ? `; safeguard: ${escapeHtml(r.safeguard)}` : ''})`
      : r.safeguard
        ? ` (safeguard: ${escapeHtml(r.safeguard)})`
        : '';
    return `<li>${escapeHtml(r.name)}${where}</li>`;
  });
  return `<ul>${items.join('')}</ul>`;
}

function categoryAnswer(answer: CategoryAnswer): string {
  return `<section class="answer" id="about-${answer.category}" aria-labelledby="about-${answer.category}-title">
<h4 id="about-${answer.category}-title">${escapeHtml(answer.title)}</h4>
<dl>
<dt>What it holds</dt><dd>${escapeHtml(answer.holds)}</dd>
<dt>Why we hold it</dt><dd>${escapeHtml(answer.purpose)}</dd>
<dt>On what legal basis</dt><dd>${escapeHtml(answer.legalBasis)}</dd>
<dt>Where it comes from</dt><dd>${escapeHtml(listInWords(answer.origin))}</dd>
<dt>Who receives it</dt><dd>${recipientsText(answer)}<p class="note">${escapeHtml(answer.sharing)}</p></dd>
<dt>How long we keep it</dt><dd>${escapeHtml(answer.retention)}</dd>
<dt>Decisions made by machine</dt><dd>${escapeHtml(answer.automatedDecisions)}</dd>
</dl>
<p><a href="#${answer.category}">The files of this kind</a></p>
</section>`;
}

function requestText(about: AboutThisExport): string {
  const { request } = about;
  const who = request.requestedBy === 'self' ? 'You asked for this export' : 'Our support team started this export for you';
  const range =
    request.since !== undefined || request.until !== undefined
      ? ` Only records ${request.since ? `from ${date(request.since)}` : ''}${request.since && request.until ? ' ' : ''}${request.until ? `until ${date(request.until)}` : ''} are included where a record has a date${
          request.rangeNotAppliedTo && request.rangeNotAppliedTo.length > 0
            ? `; these have no date to choose by, so they are whole: ${escapeHtml(listInWords(request.rangeNotAppliedTo))}`
            : ''
        }.`
      : '';
  return `<p>${who} on ${date(request.receivedAt)}; our answer is due by ${date(request.dueBy)}. It covers ${escapeHtml(listInWords(about.categories.map((c) => c.title.toLowerCase())))}.${range}</p>`;
}

function withheldText(about: AboutThisExport): string {
  if (about.withheld.length === 0) return '<p>Nothing we hold in these categories was left out.</p>';
  const items = about.withheld.map(
    (w) => `<li><code>${escapeHtml(w.attribute === '*' ? 'anything not listed' : w.attribute)}</code> of <em>${escapeHtml(w.sourceId)}</em>: ${escapeHtml(w.reason)}</li>`,
  );
  return `<p>We hold the following and do not disclose it:</p><ul>${items.join('')}</ul>`;
}

function redactedText(about: AboutThisExport): string {
  if (about.redacted.length === 0) return "<p>Nothing in your export is another person's data, so nothing was blacked out.</p>";
  const items = about.redacted.map((r) => `<li><code>${escapeHtml(r.attribute)}</code> of <em>${escapeHtml(r.sourceId)}</em></li>`);
  return `<p>Some records about you also hold another person's details, such as the contact details of someone who wrote to you. To protect them, each such value reads <code>[redacted: another person's data]</code>; the field is still there, so you can see that it exists. These fields:</p><ul>${items.join('')}</ul>`;
}

/** The answer section of index.html. */
export function renderAnswer(about: AboutThisExport): string {
  const c = about.controller;
  return `<section id="answer" aria-labelledby="answer-title">
<h2 id="answer-title">Our answer to your request</h2>
${
  about.incomplete
    ? `<p class="start"><strong>This answer is incomplete.</strong> The data map it was made with does not state: ${escapeHtml(listInWords(about.incomplete))}. Ask us at ${escapeHtml(c.contact)} for these facts.</p>`
    : ''
}
<h3>Who we are</h3>
<p>${escapeHtml(c.name)}${c.address ? `, ${escapeHtml(c.address)}` : ''}. Write to <a href="mailto:${escapeHtml(c.contact)}">${escapeHtml(c.contact)}</a>${c.dpo ? `; our data protection officer: ${escapeHtml(c.dpo)}` : ''}.</p>
<h3>What you asked for</h3>
${requestText(about)}
<h3>Why we hold your data, and who receives it</h3>
<p>For each kind of data: what it is, why and on what basis we hold it, where it comes from, who receives it, how long we keep it and whether a machine decides anything about you with it.</p>
${about.categories.map(categoryAnswer).join('\n')}
<h3>What we did not include</h3>
${withheldText(about)}
<h3>Other people's data</h3>
${redactedText(about)}
<h3>Your rights</h3>
<ul>${about.rights.map((r) => `<li>${escapeHtml(r)}</li>`).join('')}</ul>
<h3>Complaints</h3>
<p>${escapeHtml(about.complaint)}</p>
<p class="note">The same answer, for programs, is in <a href="about-this-export.json">about-this-export.json</a>.</p>
</section>`;
}

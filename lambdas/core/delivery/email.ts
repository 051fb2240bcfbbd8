// The emails a user receives: "your export is ready" (what is inside, its size, when the link expires)
// and "your export failed" (in plain words, and what to do). Each in HTML and plain text.
import { SendEmailCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import type { DataMap } from '../data-map/data-map.ts';
import { categoryPolicy } from '../data-map/data-map.ts';
import { DeliveryError } from '../platform/errors.ts';
import { count, escapeHtml, formatBytes, formatDate } from './wording.ts';
import { CATEGORIES, PRIVACY_CONTACT, SUPPORT_CONTACT, type Category } from '../data-map/privacy-policy.ts';

export interface EmailContent {
  subject: string;
  html: string;
  text: string;
}

export interface ReadyEmailFacts {
  exportId: string;
  link: string;
  linkExpiresAt: Date;
  archiveBytes: number;
  /** Parts of a split archive; each gets its own link (the same link with ?part=N). */
  archiveParts?: number;
  /** Records per source id. */
  records: Record<string, number>;
  dataMap: DataMap;
}

/** The link of each part of the archive: part 1 is the plain link, part N adds part=N. */
export function partLinks(link: string, parts: number): string[] {
  return Array.from({ length: parts }, (_, i) => (i === 0 ? link : `${link}${link.includes('?') ? '&' : '?'}part=${i + 1}`));
}

const layout = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body style="font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:36rem;margin:0 auto;padding:1.5rem;color:#1a1a1a;line-height:1.5">
${body}
<p style="color:#666;font-size:.85em;margin-top:2rem">Questions about your data: <a href="mailto:${PRIVACY_CONTACT}">${PRIVACY_CONTACT}</a>.</p>
</body></html>`;

export function renderReadyEmail(facts: ReadyEmailFacts): EmailContent {
  const perCategory = new Map<Category, number>();
  for (const source of facts.dataMap.sources) {
    const count = facts.records[source.id];
    if (count !== undefined) perCategory.set(source.category, (perCategory.get(source.category) ?? 0) + count);
  }
  const lines = CATEGORIES.filter((c) => perCategory.has(c)).map((c) => ({ title: categoryPolicy(facts.dataMap, c).title, count: perCategory.get(c) ?? 0 }));
  const size = formatBytes(facts.archiveBytes);
  const expires = formatDate(facts.linkExpiresAt);
  const parts = partLinks(facts.link, facts.archiveParts ?? 1);
  const split = parts.length > 1;
  const what = split ? `a ZIP archive of ${size} in ${parts.length} parts, each a ZIP file of its own` : `one ZIP file of ${size}`;
  const subject = 'Your data export is ready to download';
  const text = [
    'Hello,',
    '',
    `The copy of your data you asked for is ready: ${what}.`,
    '',
    'It contains:',
    ...lines.map((l) => `  - ${l.title}: ${count(l.count, 'item')}`),
    '',
    ...(split
      ? ['Download every part and extract them all into the same folder (index.html is in the last one):', ...parts.map((l, i) => `  Part ${i + 1} of ${parts.length}: ${l}`)]
      : ['Download it here:', facts.link]),
    '',
    `The link works until ${expires}. After that, request a new export from your account page.`,
    'Extract (unzip) the ZIP file first, then open index.html in the folder: it tells you what each file holds.',
    '',
    "If you did not ask for this export, don't open the link; contact " + SUPPORT_CONTACT + ' right away.',
    '',
    `Export reference: ${facts.exportId}`,
  ].join('\n');
  const html = layout(
    subject,
    `<h1 style="font-size:1.4rem">Your data export is ready</h1>
<p>The copy of your data you asked for is ready: ${split ? `a ZIP archive of <strong>${escapeHtml(size)}</strong> in ${parts.length} parts, each a ZIP file of its own` : `one ZIP file of <strong>${escapeHtml(size)}</strong>`}.</p>
<ul>${lines.map((l) => `<li>${escapeHtml(l.title)}: ${count(l.count, 'item')}</li>`).join('')}</ul>
${
  split
    ? `<p>Download every part and extract them all into the same folder; <strong>index.html</strong> is in the last one.</p>\n<ul>${parts.map((l, i) => `<li><a href="${escapeHtml(l)}">Part ${i + 1} of ${parts.length}</a></li>`).join('')}</ul>`
    : `<p><a href="${escapeHtml(facts.link)}" style="display:inline-block;background:#0b5fff;color:#fff;padding:.6rem 1.2rem;border-radius:6px;text-decoration:none">Download my data</a></p>`
}
<p>The link works until <strong>${escapeHtml(expires)}</strong>. After that, request a new export from your account page.
Extract (unzip) the ZIP file first, then open <strong>index.html</strong> in the folder: it tells you what each file holds.</p>
<p>If you did not ask for this export, don't open the link; contact <a href="mailto:${SUPPORT_CONTACT}">${SUPPORT_CONTACT}</a> right away.</p>
<p style="color:#666;font-size:.85em">Export reference: ${escapeHtml(facts.exportId)}</p>`,
  );
  return { subject, html, text };
}

export function renderFailedEmail(exportId: string, explanation: string): EmailContent {
  const subject = "We couldn't complete your data export";
  const text = [
    'Hello,',
    '',
    explanation,
    '',
    'No partial archive was sent. You can request a new export from your account page; if it fails again, reply to ' +
      SUPPORT_CONTACT +
      ' with the reference below and we will complete it for you.',
    '',
    `Export reference: ${exportId}`,
  ].join('\n');
  const html = layout(
    subject,
    `<h1 style="font-size:1.4rem">We couldn't complete your data export</h1>
<p>${escapeHtml(explanation)}</p>
<p>No partial archive was sent. You can request a new export from your account page; if it fails again, write to
<a href="mailto:${SUPPORT_CONTACT}">${SUPPORT_CONTACT}</a> with the reference below and we will complete it for you.</p>
<p style="color:#666;font-size:.85em">Export reference: ${escapeHtml(exportId)}</p>`,
  );
  return { subject, html, text };
}

export async function sendEmail(ses: SESv2Client, from: string, to: string, content: EmailContent): Promise<string> {
  try {
    const result = await ses.send(
      new SendEmailCommand({
        FromEmailAddress: from,
        Destination: { ToAddresses: [to] },
        Content: {
          Simple: {
            Subject: { Data: content.subject, Charset: 'UTF-8' },
            Body: { Html: { Data: content.html, Charset: 'UTF-8' }, Text: { Data: content.text, Charset: 'UTF-8' } },
          },
        },
      }),
    );
    return result.MessageId ?? '';
  } catch (error) {
    throw new DeliveryError(`Sending the email failed: ${(error as Error).message}`, { cause: error });
  }
}

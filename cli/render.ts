// How the CLI shows exports to a person: a status block with a progress bar per source, lists as
// aligned tables, and the audit trail as a log.
import { formatBytes, queueStanding } from '../lambdas/core/delivery/wording.ts';
import type { AuditEvent, ExportView } from './support-client.ts';

const BAR_WIDTH = 24;

function bar(done: number, total: number): string {
  const filled = total === 0 ? BAR_WIDTH : Math.round((done / total) * BAR_WIDTH);
  return `[${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}]`;
}

/**
 * A source's size is unknown until it has been read, so its bar is full once done and, while reading,
 * shows a block that steps along with every part written: visibly alive, never a made-up percentage.
 */
function sourceBar(progress: { parts: number; done: boolean }): string {
  const width = 10;
  if (progress.done) return `[${'█'.repeat(width)}]`;
  const at = progress.parts % width;
  return `[${'░'.repeat(at)}▓${'░'.repeat(width - at - 1)}]`;
}

const plural = (n: number, word: string) => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;

/** The status as a person reads it: "QUEUED (waiting, 3 ahead)" while an export waits for a slot. */
export function statusInWords(job: ExportView): string {
  const standing = queueStanding(job);
  return standing ? `${job.status} (${standing})` : job.status;
}

export function renderStatus(job: ExportView): string {
  const { sourcesDone, sourcesTotal, records } = job.progress;
  const total = sourcesTotal ?? Object.keys(job.sources).length;
  const lines = [
    `Export ${job.exportId}  user ${job.userId}  ${statusInWords(job)}`,
    `${bar(job.status === 'READY' ? total : sourcesDone, total)} ${sourcesDone}/${total || '?'} sources, ${plural(records, 'record')}`,
  ];
  // The request clock: support answers "when did they ask, and by when must we answer?" from here.
  if (job.receivedAt) lines.push(`Received ${job.receivedAt}, due by ${job.dueBy ?? '?'}`);
  for (const [sourceId, progress] of Object.entries(job.sources).sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`  ${sourceId.padEnd(22)} ${sourceBar(progress)} ${progress.done ? '✓' : '…'} ${plural(progress.records, 'record')}`);
  }
  if (job.status === 'READY') {
    lines.push(`Archive ${formatBytes(job.archiveBytes ?? 0)}, link valid until ${job.linkExpiresAt ?? '?'}, downloaded ${plural(job.downloadCount, 'time')}`);
  }
  if (job.failureMessage) lines.push(job.failureMessage);
  return lines.join('\n');
}

export function renderList(jobs: ExportView[]): string {
  if (jobs.length === 0) return 'No exports.';
  const rows = jobs.map((j) => [j.exportId, statusInWords(j), j.createdAt, j.archiveBytes === null ? '' : formatBytes(j.archiveBytes), String(j.progress.records)]);
  const header = ['EXPORT', 'STATUS', 'CREATED', 'SIZE', 'RECORDS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows]
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function renderAudit(events: AuditEvent[]): string {
  if (events.length === 0) return 'No audit events.';
  return events
    .map((e) => {
      const who = `${e.actor.role} ${e.actor.id}`;
      const why = e.actor.reason ? ` — "${e.actor.reason}"` : '';
      const where = e.ip ? ` from ${e.ip}${e.userAgent ? ` (${e.userAgent})` : ''}` : '';
      return `${e.at}  ${e.action.padEnd(8)} ${e.exportId}  by ${who}${why}${where}${e.detail ? `  [${e.detail}]` : ''}`;
    })
    .join('\n');
}

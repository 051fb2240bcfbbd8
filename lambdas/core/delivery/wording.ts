// Words for people: what the archive's index.html, the emails and the pages say about sizes, dates and
// counts, in the units and forms people read ("1 record", "3.2 MB", "November 24, 2026 at 12:30 PM UTC").

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return count(bytes, 'byte');
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** A moment in words, in UTC: "November 24, 2026 at 12:30 PM UTC". */
export function formatDate(date: Date): string {
  return date.toLocaleString('en-US', { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' }) + ' UTC';
}

/** "1 record", "1,204 records". */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? singular : plural}`;
}

/** "a", "a and b", "a, b and c". */
export function listInWords(items: string[]): string {
  return items.length <= 2 ? items.join(' and ') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/** Where a QUEUED export stands: "waiting, 3 ahead" while it waits for a slot, "starting" once admitted. */
export function queueStanding(job: { status: string; queue: { ahead: number } | null }): string | undefined {
  if (job.status !== 'QUEUED') return undefined;
  return job.queue ? `waiting, ${job.queue.ahead.toLocaleString('en-US')} ahead` : 'starting';
}

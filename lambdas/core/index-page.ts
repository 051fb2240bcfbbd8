// index.html: the page a person opens first. Self-contained (inline style, no scripts, no external
// assets), it says per category what we hold, why, who may see it and how long we keep it, and links
// every file by its relative path so the links work in the extracted folder.
import type { DataMap } from './data-map.ts';
import { categoryPolicy } from './data-map.ts';
import type { Manifest } from './manifest.ts';
import { CATEGORIES, PRIVACY_CONTACT } from './privacy-policy.ts';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** Paths are relative links; each segment is percent-encoded so names with "#", "?" or spaces still open. */
const href = (path: string) => path.split('/').map(encodeURIComponent).join('/');

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function renderIndexPage(manifest: Manifest, dataMap: DataMap): string {
  const sections = CATEGORIES.map((category) => {
    const sources = manifest.sources.filter((s) => s.category === category);
    if (sources.length === 0) return '';
    const policy = categoryPolicy(dataMap, category);
    const sourceRows = sources
      .map((source) => {
        const files = manifest.files.filter((f) => f.sourceId === source.sourceId);
        const links =
          files.length === 0
            ? '<em>nothing stored</em>'
            : files
                .slice(0, 200)
                .map((f) => `<a href="${href(f.path)}">${escapeHtml(f.path)}</a>`)
                .join('<br>') + (files.length > 200 ? `<br>… and ${files.length - 200} more files in the same folder` : '');
        const unit = source.type === 's3' ? 'files' : 'records';
        return `<tr><td><strong>${escapeHtml(source.sourceId)}</strong>${source.description ? `<br><span class="muted">${escapeHtml(source.description)}</span>` : ''}</td><td class="num">${source.records} ${unit}</td><td>${links}</td></tr>`;
      })
      .join('\n');
    return `<section id="${category}">
<h2>${escapeHtml(policy.title)}</h2>
<dl>
<dt>What it holds</dt><dd>${escapeHtml(policy.holds)}</dd>
<dt>Why we collect it</dt><dd>${escapeHtml(policy.purpose)}</dd>
<dt>Who it may be shared with</dt><dd>${escapeHtml(policy.sharing)}</dd>
<dt>How long we keep it</dt><dd>${escapeHtml(policy.retention)}</dd>
</dl>
<table><thead><tr><th>Source</th><th>Amount</th><th>Files</th></tr></thead><tbody>
${sourceRows}
</tbody></table>
</section>`;
  }).join('\n');

  const toc = CATEGORIES.filter((c) => manifest.sources.some((s) => s.category === c))
    .map((c) => `<li><a href="#${c}">${escapeHtml(categoryPolicy(dataMap, c).title)}</a></li>`)
    .join('');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Your data export</title>
<style>
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}
h1{margin-bottom:.25rem}h2{margin-top:2.5rem;border-bottom:2px solid #e5e5e5;padding-bottom:.25rem}
.muted{color:#666;font-size:.9em}table{border-collapse:collapse;width:100%;margin-top:1rem}
th,td{text-align:left;vertical-align:top;padding:.4rem .6rem;border-bottom:1px solid #eee}td.num{white-space:nowrap}
dt{font-weight:600;margin-top:.5rem}dd{margin:0 0 0 1rem}code{background:#f4f4f4;padding:0 .2rem}
</style>
</head>
<body>
<h1>Your data export</h1>
<p class="muted">Export <code>${escapeHtml(manifest.exportId)}</code> for account <code>${escapeHtml(manifest.userId)}</code>, generated ${escapeHtml(manifest.generatedAt)}.</p>
<p>This archive holds everything we store about you: ${manifest.totals.records} records in ${manifest.totals.files} files (${formatBytes(manifest.totals.bytes)}).
Each source is saved as <strong>JSON</strong> (exact values, for moving your data to another service) and/or <strong>CSV</strong> (for spreadsheets).
<code>manifest.json</code> lists every file with its size and SHA-256 checksum so you can verify nothing was changed.</p>
<ul>${toc}</ul>
${sections}
<h2>Reading the files</h2>
<ul>
<li>CSV files are UTF-8${dataMap.csv.byteOrderMark ? ', marked as such at their start so spreadsheets such as Excel show every character' : ''}. In them, a text cell that begins with <code>=</code>, <code>+</code>, <code>-</code>, <code>@</code>, a tab or a carriage return starts with an apostrophe, so spreadsheets show it instead of running it. The JSON files hold the untouched value.</li>
<li>Numbers are written with every digit we store. Binary values are base64 text. Nested values appear as JSON inside CSV cells.</li>
</ul>
<p>Questions about your data or this export: <a href="mailto:${PRIVACY_CONTACT}">${PRIVACY_CONTACT}</a>.</p>
</body>
</html>
`;
}

// index.html: the page a person opens first, written as a letter to someone who is not an engineer.
// It starts with how to open the files (extract the ZIP first: inside it, links do not work), says in
// plain words the answer to the request (index-answer.ts: who we are, why we hold each kind of data, on
// what basis, who receives it, what was withheld or redacted, the user's rights), then in plain words
// and units what the archive holds. It links every file by its relative path, shows each renamed file's original
// name, and keeps identifiers, ISO times and checksums in a "Technical details" section at the end.
// Self-contained: inline style, no scripts, no external assets.
import type { DataMap } from '../data-map/data-map.ts';
import { categoryPolicy, connectorOf } from '../data-map/data-map.ts';
import type { Manifest, ManifestFile, ManifestSource } from './manifest.ts';
import { CATEGORIES } from '../data-map/privacy-policy.ts';
import { count, escapeHtml, formatBytes, formatDate, listInWords } from '../delivery/wording.ts';
import type { AboutThisExport } from './about-this-export.ts';
import { renderAnswer } from './index-answer.ts';

export interface IndexPageFacts {
  /** The part of a split archive that holds index.html: the last one, so also how many parts there are. */
  partCount: number;
  /** The answer to the request (about-this-export.json), which the page gives first. */
  about: AboutThisExport;
}

/** Paths are relative links; each segment is percent-encoded so names with "#", "?" or spaces still open. */
const href = (path: string) => path.split('/').map(encodeURIComponent).join('/');

/**
 * A name as text that shows what it is: controls and bidirectional overrides become visible
 * ("rtl⟨U+202E⟩txt.exe", not "rtlexe.txt"), and <bdi> keeps a right-to-left name from reordering the
 * words around it.
 */
const INVISIBLE = /[\p{Cc}\u00ad\u061c\u200b\u200e\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/gu;
export function visibleName(name: string): string {
  const shown = name.replace(INVISIBLE, (c) => `⟨U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}⟩`);
  return `<bdi>${escapeHtml(shown)}</bdi>`;
}

/** More files than this in one source are listed behind "Show all N files". */
const OPEN_LIST = 20;

const FORMAT_WORDS: Record<string, string> = {
  json: 'JSON, every value exactly as we store it, for moving your data to another service',
  csv: 'CSV, opens in a spreadsheet',
};

/** The name a file of an S3 source would have had unchanged; the file was renamed when its path differs. */
function originalName(file: ManifestFile, source: ManifestSource): string | undefined {
  if (file.originalKey === undefined) return undefined;
  return file.path === `${source.category}/${source.sourceId}/${file.originalKey.normalize('NFC')}` ? undefined : file.originalKey;
}

function fileLine(file: ManifestFile, pieces: ManifestFile[], source: ManifestSource, facts: IndexPageFacts): string {
  const where = (f: ManifestFile) => (facts.partCount > 1 ? `, in part ${f.archivePart}` : '');
  const what = file.format === 'file' ? formatBytes(pieces.reduce((sum, piece) => sum + piece.bytes, file.bytes)) : `${FORMAT_WORDS[file.format] ?? file.format.toUpperCase()}`;
  const original = originalName(file, source);
  const renamed = original === undefined ? '' : `<br><span class="note">Renamed so that every computer can save it. Its original name: ${visibleName(original)}</span>`;
  const rest =
    pieces.length === 0
      ? ''
      : `<br><span class="note">Too big for one piece, so it is saved in ${pieces.length + 1}: this one${where(file)}, then ${pieces
          .map((piece) => `<a href="${href(piece.path)}">${visibleName(piece.path.split('/').at(-1) ?? piece.path)}</a>${where(piece)}`)
          .join(', ')}. ${file.format === 'file' ? 'Join them in this order before opening (see “Reading the files”).' : 'Each piece opens on its own.'}</span>`;
  return `<li><a href="${href(file.path)}">${visibleName(file.path)}</a> <span class="muted">(${what}${where(file)})</span>${renamed}${rest}</li>`;
}

/** Whether a source's export is files as the user uploaded them (S3) rather than records. */
const holdsFiles = (source: ManifestSource) => connectorOf(source).output === 'files';

/** What `sources` hold, records and uploaded files apart, each named only where such a source is there: ["3 records", "1 file"]. */
function amounts(sources: ManifestSource[], file: string, files?: string): string[] {
  const records = sources.filter((s) => !holdsFiles(s));
  const uploads = sources.filter(holdsFiles);
  const total = (of: ManifestSource[]) => of.reduce((sum, s) => sum + s.records, 0);
  return [...(records.length > 0 ? [count(total(records), 'record')] : []), ...(uploads.length > 0 ? [count(total(uploads), file, files)] : [])];
}

function sourceBlock(source: ManifestSource, manifest: Manifest, facts: IndexPageFacts): string {
  const all = manifest.files.filter((f) => f.sourceId === source.sourceId);
  const firsts = all.filter((f) => f.continues === undefined);
  const piecesOf = new Map<string, ManifestFile[]>();
  for (const piece of all) if (piece.continues !== undefined) piecesOf.set(piece.continues, [...(piecesOf.get(piece.continues) ?? []), piece]);
  const lines = firsts.map((file) => fileLine(file, piecesOf.get(file.path) ?? [], source, facts));
  const amount = holdsFiles(source) ? count(source.records, 'file you uploaded', 'files you uploaded') : count(source.records, 'record');
  const heading = source.sourceId.replace(/[-_]+/g, ' ');
  const title = `<h3>${escapeHtml(heading.charAt(0).toUpperCase() + heading.slice(1))}</h3>${source.description ? `\n<p class="muted">${escapeHtml(source.description)}</p>` : ''}`;
  if (firsts.length === 0) return `${title}\n<p>${amount}: we hold nothing of this kind about you.</p>`;
  const list = `<ul class="files">${lines.join('\n')}</ul>`;
  const shown = firsts.length > OPEN_LIST ? `<details><summary>Show all ${count(firsts.length, 'file')}</summary>\n${list}\n</details>` : list;
  const intro = holdsFiles(source) ? `${amount}:` : `${amount}, in ${firsts.length === 1 ? 'this file' : `these ${count(firsts.length, 'file')}`}:`;
  return `${title}\n<p>${intro}</p>\n${shown}`;
}

export function renderIndexPage(manifest: Manifest, dataMap: DataMap, facts: IndexPageFacts): string {
  const present = CATEGORIES.filter((c) => manifest.sources.some((s) => s.category === c));
  const sections = present
    .map((category) => {
      const policy = categoryPolicy(dataMap, category);
      const sources = manifest.sources.filter((s) => s.category === category);
      return `<section id="${category}">
<h2>${escapeHtml(policy.title)}</h2>
<p>${escapeHtml(policy.holds)} <a href="#about-${category}">Why we hold it, and who receives it</a>.</p>
${sources.map((source) => sourceBlock(source, manifest, facts)).join('\n')}
</section>`;
    })
    .join('\n');

  const held = amounts(manifest.sources, 'file you uploaded', 'files you uploaded');
  const toc = present
    .map(
      (c) =>
        `<li><a href="#${c}">${escapeHtml(categoryPolicy(dataMap, c).title)}</a>: ${listInWords(
          amounts(
            manifest.sources.filter((s) => s.category === c),
            'file',
          ),
        )}</li>`,
    )
    .join('\n');
  // Pieces of a split file carry its original key under a ".part-N" path: only whole files count here.
  const renamed = manifest.files.some((file) => {
    if (file.continues !== undefined) return false;
    const source = manifest.sources.find((s) => s.sourceId === file.sourceId);
    return source !== undefined && originalName(file, source) !== undefined;
  });
  const split =
    facts.partCount > 1
      ? `<p>Your export came as <strong>${facts.partCount} ZIP files</strong>, because it is large. Extract every one of them into the <strong>same folder</strong>; this page is in the last one. Below, each file says which part holds it.</p>`
      : '';

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Your data export</title>
<style>
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a;overflow-wrap:anywhere}
h1{margin-bottom:.25rem}h2{margin-top:2.5rem;border-bottom:2px solid #e5e5e5;padding-bottom:.25rem}h3{margin:1.5rem 0 .25rem}
.start{background:#fff8e1;border:1px solid #f0d98c;border-radius:6px;padding:.25rem 1rem;margin:1.5rem 0}
.muted{color:#555}.note{color:#555;font-size:.92em}
ul.files{padding-left:1.25rem}ul.files li{margin:.3rem 0}
dt{font-weight:600;margin-top:.5rem}dd{margin:0 0 0 1rem}code{background:#f4f4f4;padding:0 .2rem}
details{margin:.5rem 0}summary{cursor:pointer;color:#0b5fff}
</style>
</head>
<body>
<main>
<h1>Your data export</h1>
<p>Hello,</p>
<p>This is the copy you asked for of the personal data we hold about you, as it stood on ${escapeHtml(formatDate(new Date(manifest.generatedAt)))}.</p>
<section class="start">
<h2 style="margin-top:1rem;border:0">First, extract the ZIP file</h2>
<p>The links on this page work only once the ZIP file has been extracted (unzipped) into a folder. Opened from inside the ZIP, they do not.</p>
<ul>
<li><strong>Windows:</strong> right-click the ZIP file, choose <em>Extract All…</em>, then open <em>index.html</em> in the new folder.</li>
<li><strong>Mac:</strong> double-click the ZIP file, then open <em>index.html</em> in the folder that appears beside it.</li>
<li><strong>Linux:</strong> right-click the ZIP file and choose <em>Extract Here</em>.</li>
<li><strong>Phone or tablet:</strong> open the ZIP file in the Files app, which extracts it into a folder.</li>
</ul>
${split}
</section>
${renderAnswer(facts.about)}
<h2>What is in it</h2>
<p>We hold ${listInWords(held)} about you, in ${count(present.length, 'kind', 'kinds')} of data: ${formatBytes(manifest.totals.bytes)} in all, in ${count(manifest.files.filter((f) => f.continues === undefined).length, 'file')}.</p>
<ul>
${toc}
</ul>
${sections}
<h2>Reading the files</h2>
<ul>
<li><strong>JSON</strong> files keep every value exactly as we store it. Other services can import them.</li>
<li><strong>CSV</strong> files open in Excel, Numbers, LibreOffice or Google Sheets.${dataMap.csv.byteOrderMark ? ' They start with a marker that tells spreadsheets the text is Unicode, so accents, other alphabets and emoji show as they should.' : ' They are Unicode text (UTF-8); choose that encoding if your spreadsheet asks.'} A cell whose text begins with <code>=</code>, <code>+</code>, <code>-</code>, <code>@</code>, a tab or a line break starts with an apostrophe, so that a spreadsheet shows it rather than running it as a formula. The JSON files hold the text as it was.</li>
${renamed ? '<li>Some files were <strong>renamed</strong> so that every computer can save them: names Windows reserves, characters some systems refuse or show misleadingly, names too long for Windows, or two names a computer would take for the same one. Each renamed file shows its original name under it.</li>\n' : ''}<li>A file too big for one piece is saved in pieces: the file, then the same name with <code>.part-2</code>, <code>.part-3</code> and so on. Join them in order before opening: on Windows, in a command prompt, <code>copy /b name + name.part-2 whole</code>; on a Mac or Linux, in a terminal, <code>cat name name.part-2 &gt; whole</code>.</li>
</ul>
<h2>Questions</h2>
<p>Write to us at <a href="mailto:${escapeHtml(facts.about.controller.contact)}">${escapeHtml(facts.about.controller.contact)}</a> about your data or this export.</p>
<details>
<summary>Technical details</summary>
<dl>
<dt>Export reference</dt><dd><code>${escapeHtml(manifest.exportId)}</code></dd>
<dt>Account</dt><dd><code>${escapeHtml(manifest.userId)}</code></dd>
<dt>Made at</dt><dd><code>${escapeHtml(manifest.generatedAt)}</code> (file times in the ZIP are UTC)</dd>
<dt>manifest.json</dt><dd>Lists every file with its size in bytes and its SHA-256 checksum, so you can check that nothing was changed; a program reads it to import the export.</dd>
<dt>Values</dt><dd>Numbers keep every digit we store. Binary values are base64 text. Nested values appear as JSON inside CSV cells. Text is UTF-8.</dd>
</dl>
</details>
</main>
</body>
</html>
`;
}

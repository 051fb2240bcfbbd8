// Prints the reliability report (fault or input class, cases, outcome, records lost, cross-user leaks)
// after the run, from the rows the reliability tests attach; with RELIABILITY_REPORT_FILE set it also
// writes the table as Markdown (npm run test:reliability writes docs/reliability-report.md).
import { writeFileSync } from 'node:fs';
import type { Reporter, TestModule } from 'vitest/node';
import type { ReliabilityRow } from './reliability.ts';

export default class ReliabilityReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const rows: (ReliabilityRow & { passed: boolean })[] = [];
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const row = test.meta().reliability;
        if (row) rows.push({ ...row, passed: test.result().state === 'passed' });
      }
    }
    if (rows.length === 0) return;
    const header = ['Fault or input class', 'Cases', 'Outcome', 'Records lost', 'Cross-user leaks', 'Test'];
    const body = rows.map((r) => [r.kind, String(r.cases), r.outcome, String(r.recordsLost), String(r.leaks), r.passed ? 'passed' : 'FAILED']);
    const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
    const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
    const table = [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
    const lost = rows.reduce((sum, r) => sum + r.recordsLost, 0);
    const leaks = rows.reduce((sum, r) => sum + r.leaks, 0);
    const summary = `Records lost: ${lost}. Cross-user leaks: ${leaks}. ${rows.reduce((sum, r) => sum + r.cases, 0)} cases in ${rows.length} classes.`;
    process.stdout.write(`\nReliability report\n\n${table}\n\n${summary}\n`);
    const file = process.env.RELIABILITY_REPORT_FILE;
    if (file) {
      writeFileSync(
        file,
        `# Reliability report\n\nWritten by \`npm run test:reliability\` (the same tests run in \`npm test\`) on ${new Date().toISOString().slice(0, 10)}.\nEach row is a test in \`test/reliability/\` that asserts the exact outcome; lost and leaked counts are measured record by record.\n\n${table}\n\n${summary}\n`,
      );
    }
  }
}

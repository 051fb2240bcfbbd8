// axe-core's accessibility rules (WCAG 2.x A and AA, and its best practices) run in the page, as a
// reviewer with a screen reader would meet it; a violation is returned as a line naming the rule,
// its impact and the elements, so a failing test says what to fix.
import { AxeBuilder } from '@axe-core/playwright';
import type { Page } from 'playwright-core';

export async function accessibilityViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations.map((v) => `${v.id} (${v.impact ?? 'unknown'}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

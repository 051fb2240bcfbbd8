// The demo users' export costs (bench/export-costs.ts) in a process of its own, under tsx: one line of JSON.
import { demoExportCosts } from './export-costs.ts';

console.log(JSON.stringify(await demoExportCosts()));
process.exit(0);

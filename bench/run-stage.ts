// Runs one benchmark stage in this process and prints its result as one JSON line (bin/bench.ts reads it).
// bin/bench.ts runs it as an esbuild bundle, built the way the Lambda functions are, so that memory is
// measured without the TypeScript loader and unbundled modules a function does not carry.
import { bundleStage, collectStage, decodeFloorStage, entriesStage, limitStage, type StageResult } from './stages.ts';

const [stage = '', recordsText = '0', workDir = '', keep = ''] = process.argv.slice(2);
const records = Number(recordsText);
const stages: Record<string, () => StageResult | Promise<StageResult>> = {
  collect: () => collectStage(records, workDir),
  floor: () => decodeFloorStage(records),
  bundle: () => bundleStage(records, workDir, keep === 'keep'),
  entries: () => entriesStage(workDir),
  limit: () => limitStage(workDir),
};
const run = stages[stage];
if (!run) throw new Error(`unknown stage "${stage}"`);
console.log(JSON.stringify(await run()));
process.exit(0);

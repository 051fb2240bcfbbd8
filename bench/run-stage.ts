// Runs one benchmark stage in this process and prints its result as one JSON line (bin/bench.ts reads it).
// bin/bench.ts runs it as an esbuild bundle, built the way the Lambda functions are, so that memory is
// measured without the TypeScript loader and unbundled modules a function does not carry.
import { bundleStage, collectStage, decodeFloorStage, limitStage } from './stages.ts';

const [stage = '', recordsText = '0', workDir = '', keep = ''] = process.argv.slice(2);
const records = Number(recordsText);
const result =
  stage === 'collect'
    ? await collectStage(records, workDir)
    : stage === 'floor'
      ? decodeFloorStage(records)
      : stage === 'bundle'
        ? await bundleStage(records, workDir, keep === 'keep')
        : stage === 'limit'
          ? await limitStage(workDir)
          : undefined;
if (!result) throw new Error(`unknown stage "${stage}"`);
console.log(JSON.stringify(result));
process.exit(0);

// The wave (bench/wave.ts) in a process of its own, under tsx: its one line of output is the report as JSON.
//   exports cap budget arrivalMs inFlight dir
import { runWave } from './wave.ts';

const [exports = '500', cap = '20', budget = '20', arrivalMs = '55000', inFlight = '8', dir = ''] = process.argv.slice(2);
const report = await runWave({ exports: Number(exports), cap: Number(cap), budget: Number(budget), arrivalMs: Number(arrivalMs), inFlight: Number(inFlight), dir });
console.log(JSON.stringify(report));
process.exit(0);

// The many-files stage in a process of its own (it starts the embedded stack, so it runs under tsx).
import { manyFilesStage } from './many-files.ts';

const [filesText = '0', workDir = ''] = process.argv.slice(2);
console.log(JSON.stringify(await manyFilesStage(Number(filesText), workDir)));
process.exit(0);

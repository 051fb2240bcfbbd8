// The S3 emulator in a process of its own: started by local/emulators.ts, it prints its port as one JSON
// line and serves until its parent closes stdin (or dies), then removes nothing: the parent owns the
// directory.
import { startS3Emulator } from './s3-emulator.ts';

const directory = process.argv[2];
if (!directory) {
  console.error('usage: s3-emulator-process <directory>');
  process.exit(2);
}
const emulator = await startS3Emulator(directory);
console.log(JSON.stringify({ port: emulator.port }));
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void emulator.close().finally(() => process.exit(0));
};
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
process.on('SIGTERM', stop);

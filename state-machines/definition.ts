// Where the export workflow's ASL lives: the CDK stack deploys this file and the local runner runs it.
import { fileURLToPath } from 'node:url';

export const EXPORT_DEFINITION_FILE = fileURLToPath(new URL('./export.asl.json', import.meta.url));

// The collectors CollectSource runs, one line per store type it reads (outside any VPC).
import type { Collectors } from './collect-source.ts';
import { collectCognito } from './connectors/cognito/collector.ts';
import { collectDynamoDb } from './connectors/dynamodb/collector.ts';
import { collectS3 } from './connectors/s3/collector.ts';

export const SOURCE_COLLECTORS: Collectors<'CollectSource'> = { dynamodb: collectDynamoDb, s3: collectS3, cognito: collectCognito };

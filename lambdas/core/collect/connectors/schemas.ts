// The store types the data map knows, one line each: adding a store type is its folder plus a line
// here and in collectors.ts and local/stand-ins.ts (docs/architecture.md, "Adding a store type").
import { cognitoConnector } from './cognito/schema.ts';
import { dynamoDbConnector } from './dynamodb/schema.ts';
import { postgresConnector } from './postgres/schema.ts';
import { s3Connector } from './s3/schema.ts';

export const CONNECTORS = [dynamoDbConnector, s3Connector, postgresConnector, cognitoConnector] as const;

export type SourceType = (typeof CONNECTORS)[number]['type'];

// The collectors CollectDatabaseSource runs, one line per database engine (inside the database's VPC).
import type { Collectors } from './collect-source.ts';
import { collectPostgresSource } from './connectors/postgres/collector.ts';

export const DATABASE_COLLECTORS: Collectors<'CollectDatabaseSource'> = { postgres: collectPostgresSource };

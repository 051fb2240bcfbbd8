// The stand-ins for the stores a data map declares beyond DynamoDB and S3: a PostgreSQL server per
// `databases` entry (PGlite, or a real server a test hands in) and a cognito-local pool per `userPools`
// entry. They start beside the emulators, load their part of a seed, and tell each function's Runtime
// where its databases and pools are (Runtime.stores); their `aws` blocks are ignored here.
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import type pg from 'pg';
import { createUserPools, seedUserPool } from '../lambdas/core/collect/connectors/cognito/local.ts';
import { connectionOf, probePostgresSources, seedPostgres, type PostgresStandIn } from '../lambdas/core/collect/connectors/postgres/local.ts';
import type { DataMap, PostgresSource } from '../lambdas/core/data-map/data-map.ts';
import { DataMapError } from '../lambdas/core/platform/errors.ts';
import { startCognitoLocal, startPostgresProcess } from './emulators.ts';
import { LOCAL_REGION } from './iam/local-resources.ts';
import type { Seed } from './seed.ts';

export interface StandIns {
  /** cognito-local's endpoint, when the map has user pools. */
  cognitoEndpoint?: string;
  /** Each pool's id in cognito-local, by the data map's name for it. */
  userPoolIds: Record<string, string>;
  database(name: string): pg.ClientConfig;
  userPoolId(name: string): string;
  /** Runs the seed's statements and creates its users, then tries every PostgreSQL source once. */
  seed(seed: Seed, origin: string): Promise<{ statements: number; users: number }>;
  close(): Promise<void>;
}

export interface StandInOptions {
  /** Starts the server for a database (default: PGlite, in a process of its own); a test hands in Debian's PostgreSQL to compare. */
  postgresServer?: () => Promise<PostgresStandIn>;
}

export async function startStandIns(dataMap: DataMap, origin: string, options: StandInOptions = {}): Promise<StandIns> {
  // cognito-local answers neither AdminListDevices nor AdminListUserAuthEvents: say so rather than fail mid-export.
  const detailed = dataMap.sources.find((s) => s.type === 'cognito' && (s.details?.length ?? 0) > 0);
  if (detailed) {
    throw new DataMapError(
      `${origin}: source "${detailed.id}" asks for Cognito "details" (devices, sign-in events), which cognito-local cannot show (it has no AdminListDevices or AdminListUserAuthEvents). They are read in AWS; leave "details" out to run the map locally.`,
    );
  }
  const started: { close(): Promise<void> }[] = [];
  const closeAll = () => Promise.allSettled(started.map((s) => s.close())).then(() => undefined);
  try {
    const databases = Object.keys(dataMap.databases ?? {});
    const pools = Object.keys(dataMap.userPools ?? {});
    // The database servers and cognito-local start at once: each is a process of its own.
    const startUserPools = async (): Promise<{ cognito?: { endpoint: string; client: CognitoIdentityProviderClient }; userPoolIds: Record<string, string> }> => {
      if (pools.length === 0) return { userPoolIds: {} };
      const local = await startCognitoLocal();
      started.push(local);
      const client = new CognitoIdentityProviderClient({ endpoint: local.endpoint, region: LOCAL_REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
      return { cognito: { endpoint: local.endpoint, client }, userPoolIds: await createUserPools(client, pools) };
    };
    const [servers, { cognito, userPoolIds }] = await Promise.all([
      Promise.all(databases.map((name) => (options.postgresServer ?? startPostgresProcess)().then((server) => (started.push(server), [name, server] as const)))),
      startUserPools(),
    ]);
    const byName = new Map(servers);
    const database = (name: string): pg.ClientConfig => {
      const server = byName.get(name);
      if (!server) throw new DataMapError(`The data map declares no database "${name}".`);
      return connectionOf(server);
    };
    return {
      cognitoEndpoint: cognito?.endpoint,
      userPoolIds,
      database,
      userPoolId: (name) => {
        const id = userPoolIds[name];
        if (!id) throw new DataMapError(`The data map declares no user pool "${name}".`);
        return id;
      },
      seed: async (seed, seedOrigin) => {
        let statements = 0;
        let users = 0;
        for (const [name, list] of Object.entries(seed.postgres ?? {})) statements += await seedPostgres(database(name), name, list, seedOrigin);
        for (const [name, list] of Object.entries(seed.cognito ?? {})) {
          if (!cognito) break;
          users += await seedUserPool(cognito.client, userPoolIds[name] ?? '', name, list, seedOrigin);
        }
        const sources = dataMap.sources.filter((s): s is PostgresSource => s.type === 'postgres');
        await probePostgresSources(database, sources, origin);
        return { statements, users };
      },
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

// CollectSource: one time-boxed slice of one source into staging parts; returns a cursor to loop on.
import type { DataMap } from './core/data-map/data-map.ts';
import { DataMapError } from './core/platform/errors.ts';
import { createCollectHandler } from './collect-handler.ts';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { SOURCE_COLLECTORS } from './core/collect/source-collectors.ts';
import { lambdaEntry, type Runtime } from './core/runtime.ts';

/** Which pool a Cognito source reads: the stand-in's where the Runtime has one, else the id its aws block gives. */
function userPoolId(map: DataMap, pool: string, runtime: Runtime): string {
  if (runtime.stores) return runtime.stores.userPoolId(pool);
  const id = map.userPools?.[pool]?.aws?.userPoolId;
  if (!id) throw new DataMapError(`The data map's userPools.${pool} has no aws.userPoolId, which the function needs in AWS.`);
  return id;
}

export function createCollectSourceHandler(runtime: Runtime) {
  // Only a map with user pools reads Cognito: the client is built for it alone.
  return createCollectHandler(runtime, 'CollectSource', SOURCE_COLLECTORS, (dataMap) => ({
    cognito: dataMap.userPools ? { client: runtime.client(CognitoIdentityProviderClient), userPoolId: (pool: string) => userPoolId(dataMap, pool, runtime) } : undefined,
  }));
}

export const handler = lambdaEntry(createCollectSourceHandler);

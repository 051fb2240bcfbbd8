// Lint: typescript-eslint's type-aware recommended rules over all TypeScript in the repo.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'cdk.out/', 'coverage/', '.demo/', '**/*.js', '!eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  { files: ['eslint.config.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  ...importDirection(),
  ...connectorRoles(),
);

/**
 * The core's import direction (docs/architecture.md): each concern imports only the layers below it,
 * so a back-import fails `npm run lint`. The handlers in lambdas/*.ts compose them and may import any;
 * the core imports nothing of the handlers, lib/, local/ or cli/.
 */
function importDirection() {
  const layers = [['platform'], ['data-map', 'values'], ['storage', 'jobs'], ['collect', 'delivery'], ['archive'], ['runtime'], ['lifecycle'], ['api']];
  const handlers = ['bundle-archive', 'collect-source', 'download', 'execution-ended', 'mark-failed', 'prepare-export', 'send-link', 'support-api', 'user-api'];
  const outside = {
    regex: `^(\\.\\./)+(lib|local|cli|bin|test|bench)/|^\\.\\./\\.\\./(\\.\\./)?(${handlers.join('|')})\\.ts$`,
    message: 'The core imports nothing of the handlers, lib/, local/ or cli/.',
  };
  return layers.flatMap((layer, depth) =>
    layer.map((concern) => {
      const above = layers.slice(depth + 1).flat();
      const files = concern === 'runtime' ? ['lambdas/core/runtime.ts'] : [`lambdas/core/${concern}/**/*.ts`];
      // A connector's schema is data-map knowledge that lives in its connector's folder: the data map may read it.
      const schemaFiles = concern === 'data-map' || concern === 'values' ? '(?!connectors/([a-z0-9-]+/schema|schemas)\\.ts$)' : '';
      const upward =
        above.length === 0
          ? []
          : [
              {
                regex: `(^|/)(${above.join('|')})(/|\\.ts$)${schemaFiles}`,
                message: `${concern} sits below ${above.join(', ')}: it may not import them (docs/architecture.md).`,
              },
            ];
      return { files, rules: { 'no-restricted-imports': ['error', { patterns: [...upward, ...(concern === 'runtime' ? [] : [outside])] }] } };
    }),
  );
}

/**
 * The roles of a connector's files (docs/architecture.md, "Adding a store type"). Its schema.ts is read
 * by the data map, which every handler and the CDK app load, so it imports no store client and nothing
 * that reads; its collector may use both. local.ts (its stand-in and seed loader) is the only file of
 * the folder that may import local/, and nothing of lambdas/ imports it.
 */
function connectorRoles() {
  const readers = {
    regex: '(^|/)(collector|reader|part-copy|user|reading)\\.ts$|(^|/)(storage|jobs|delivery|archive|lifecycle|api)/|(^|/)(lib|local|cli|bin|test|bench)/|^@aws-sdk/|^pg$',
    message: 'A connector schema is plain data and zod: no store client, nothing that reads (docs/architecture.md).',
  };
  return [
    {
      files: ['lambdas/core/collect/connectors/*/schema.ts', 'lambdas/core/collect/connectors/schemas.ts'],
      rules: { 'no-restricted-imports': ['error', { patterns: [readers] }] },
    },
  ];
}

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
);

/**
 * The core's import direction (docs/architecture.md): each concern imports only the layers below it,
 * so a back-import fails `npm run lint`. The handlers in lambdas/*.ts compose them and may import any;
 * the core imports nothing of the handlers, lib/, local/ or cli/.
 *
 * A connector's files (lambdas/core/collect/connectors/<type>/, "Adding a store type") have roles of
 * their own. Its schema.ts is data-map knowledge: the data map reads it, every handler and the CDK app
 * load it, so it sits in the data-map layer and imports no store client and nothing that reads. Its
 * local.ts (stand-in and seed loader) is for the embedded stack: nothing under lambdas/ imports it.
 */
function importDirection() {
  const layers = [['platform'], ['data-map', 'values'], ['storage', 'jobs'], ['collect', 'delivery'], ['archive'], ['runtime'], ['lifecycle'], ['api']];
  const handlers = [
    'bundle-archive',
    'collect-database-source',
    'collect-handler',
    'collect-source',
    'download',
    'execution-ended',
    'mark-failed',
    'prepare-export',
    'send-link',
    'support-api',
    'user-api',
  ];
  const outside = {
    regex: `^(\\.\\./)+(lib|local|cli|bin|test|bench)/|^(\\.\\./)+(${handlers.join('|')})\\.ts$`,
    message: 'The core imports nothing of the handlers, lib/, local/ or cli/.',
  };
  const standIn = { regex: '(^|/)local\\.ts$', message: "A connector's local.ts (its stand-in and seed loader) is for the embedded stack: nothing deployed imports it." };
  const schemaFiles = ['lambdas/core/collect/connectors/*/schema.ts', 'lambdas/core/collect/connectors/schemas.ts'];
  const reading = {
    regex: '(^|/)(collector|reader|part-copy|user|reading|local)\\.ts$|^@aws-sdk/|^pg$',
    message: 'A connector schema is plain data and zod: no store client, nothing that reads (docs/architecture.md).',
  };
  const upwardOf = (concern, depth, except = '') => {
    const above = layers.slice(depth + 1).flat();
    if (above.length === 0) return [];
    return [{ regex: `(^|/)(${above.join('|')})(/|\\.ts$)${except}`, message: `${concern} sits below ${above.join(', ')}: it may not import them (docs/architecture.md).` }];
  };
  // The data map may read the connectors' schemas, which sit in its layer.
  const exceptSchemas = '(?!connectors/([a-z0-9-]+/schema|schemas)\\.ts$)';
  const rules = (patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });
  const dataMapDepth = layers.findIndex((layer) => layer.includes('data-map'));
  return [
    ...layers.flatMap((layer, depth) =>
      layer.map((concern) => {
        const files = concern === 'runtime' ? ['lambdas/core/runtime.ts'] : [`lambdas/core/${concern}/**/*.ts`];
        const upward = upwardOf(concern, depth, concern === 'data-map' || concern === 'values' ? exceptSchemas : '');
        return {
          files,
          ignores: concern === 'collect' ? [...schemaFiles, 'lambdas/core/collect/connectors/*/local.ts'] : [],
          rules: rules([...upward, ...(concern === 'runtime' ? [] : [outside]), standIn]),
        };
      }),
    ),
    { files: schemaFiles, rules: rules([...upwardOf('A connector schema', dataMapDepth, exceptSchemas), outside, reading]) },
    { files: ['lambdas/core/collect/connectors/*/local.ts'], rules: rules([...upwardOf('collect', 3), outside]) },
    { files: ['lambdas/*.ts'], rules: rules([standIn]) },
  ];
}

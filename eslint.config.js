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
      const upward =
        above.length === 0
          ? []
          : [{ regex: `(^|/)(${above.join('|')})(/|\\.ts$)`, message: `${concern} sits below ${above.join(', ')}: it may not import them (docs/architecture.md).` }];
      return { files, rules: { 'no-restricted-imports': ['error', { patterns: [...upward, ...(concern === 'runtime' ? [] : [outside])] }] } };
    }),
  );
}

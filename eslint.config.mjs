import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default [
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/tmp/**',
      '.nx/**',
      'coverage/**',
      '**/fixtures/**',
      '**/*.js',
      '**/*.cjs',
      '**/*.mjs',
    ],
  },
  ...tseslint.configs.recommended,
  prettier,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-explicit-any': 'off',
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            // type: the direction of DESIGN §8, from what runs down to what every part shares:
            // app -> profile -> service -> platform -> adapter -> domain -> core
            { sourceTag: 'type:core', onlyDependOnLibsWithTags: ['type:core'] },
            { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:core', 'type:domain'] },
            {
              sourceTag: 'type:adapter',
              onlyDependOnLibsWithTags: ['type:core', 'type:domain', 'type:adapter'],
            },
            {
              sourceTag: 'type:platform',
              onlyDependOnLibsWithTags: ['type:core', 'type:domain', 'type:adapter'],
            },
            {
              sourceTag: 'type:service',
              onlyDependOnLibsWithTags: [
                'type:core',
                'type:domain',
                'type:adapter',
                'type:platform',
              ],
            },
            {
              sourceTag: 'type:profile',
              onlyDependOnLibsWithTags: [
                'type:core',
                'type:domain',
                'type:adapter',
                'type:platform',
                'type:service',
              ],
            },
            {
              sourceTag: 'type:app',
              onlyDependOnLibsWithTags: [
                'type:core',
                'type:domain',
                'type:adapter',
                'type:platform',
                'type:service',
                'type:profile',
                'type:computations',
              ],
            },
            {
              sourceTag: 'type:testing',
              onlyDependOnLibsWithTags: [
                'type:core',
                'type:domain',
                'type:adapter',
                'type:testing',
              ],
            },
            { sourceTag: 'type:computations', onlyDependOnLibsWithTags: ['type:core'] },
            // scope: a service's code is reachable only from its own app and the profiles
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
            ...['planner', 'executor', 'worker', 'scheduler'].map((s) => ({
              sourceTag: `scope:${s}`,
              onlyDependOnLibsWithTags: [
                'scope:shared',
                'scope:platform',
                `scope:${s}`,
                // the scheduler service's POST /tick uses the api's authentication
                ...(s === 'scheduler' ? ['scope:api'] : []),
              ],
            })),
            {
              // the api predicts what the executor would decide (analyze)
              sourceTag: 'scope:api',
              onlyDependOnLibsWithTags: [
                'scope:shared',
                'scope:platform',
                'scope:api',
                'scope:executor',
              ],
            },
            {
              // the project's loader and inputs use the executor's and planner's pure rules
              sourceTag: 'scope:platform',
              onlyDependOnLibsWithTags: ['scope:shared', 'scope:executor', 'scope:planner'],
            },
            { sourceTag: 'scope:computations', onlyDependOnLibsWithTags: ['scope:shared'] },
            {
              sourceTag: 'scope:embedded',
              onlyDependOnLibsWithTags: [
                'scope:shared',
                'scope:platform',
                'scope:planner',
                'scope:executor',
                'scope:worker',
                'scope:scheduler',
                'scope:api',
                'scope:scheduler',
              ],
            },
            {
              sourceTag: 'scope:cli',
              onlyDependOnLibsWithTags: [
                'scope:shared',
                'scope:platform',
                'scope:api',
                'scope:embedded',
                'scope:scheduler',
                'scope:computations',
              ],
            },
          ],
        },
      ],
    },
  },
  {
    // domain code (deciders, projections) is pure: no Node built-in, no I/O client
    files: ['libs/domain/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'domain code imports no Node built-in (DESIGN §8)' },
            {
              group: ['@google-cloud/*', 'better-sqlite3', '@duckdb/*', '@nestjs/*', 'opossum'],
              message: 'domain code imports no adapter or framework (DESIGN §8)',
            },
          ],
          paths: ['fs', 'path', 'crypto', 'os', 'child_process', 'net', 'http', 'async_hooks'],
        },
      ],
    },
  },
  {
    // tests may also use the testing lib and the adapters (conformance suites, real stores)
    files: [
      '**/*.spec.ts',
      '**/*.bench.ts',
      '**/conformance/**/*.ts',
      'test/**/*.ts',
      'bench/**/*.ts',
    ],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          depConstraints: [{ sourceTag: '*', onlyDependOnLibsWithTags: ['*'] }],
        },
      ],
    },
  },
];

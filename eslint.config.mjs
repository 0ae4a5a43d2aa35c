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
            // type: what kind of code may import what
            { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:domain'] },
            { sourceTag: 'type:adapter', onlyDependOnLibsWithTags: ['type:domain'] },
            {
              sourceTag: 'type:testing',
              onlyDependOnLibsWithTags: ['type:domain', 'type:adapter', 'type:testing'],
            },
            {
              sourceTag: 'type:runtime',
              onlyDependOnLibsWithTags: ['type:domain', 'type:adapter'],
            },
            { sourceTag: 'type:computations', onlyDependOnLibsWithTags: ['type:domain'] },
            {
              sourceTag: 'type:app',
              onlyDependOnLibsWithTags: ['type:domain', 'type:adapter', 'type:runtime'],
            },
            // scope: a service's logic is reachable only from its own app and the runtime wiring
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
            {
              sourceTag: 'scope:planner',
              onlyDependOnLibsWithTags: ['scope:shared', 'scope:planner', 'scope:runtime'],
            },
            {
              sourceTag: 'scope:executor',
              onlyDependOnLibsWithTags: ['scope:shared', 'scope:executor', 'scope:runtime'],
            },
            {
              sourceTag: 'scope:worker',
              onlyDependOnLibsWithTags: ['scope:shared', 'scope:worker', 'scope:runtime'],
            },
            {
              sourceTag: 'scope:scheduler',
              onlyDependOnLibsWithTags: ['scope:shared', 'scope:scheduler', 'scope:runtime'],
            },
            {
              sourceTag: 'scope:api',
              onlyDependOnLibsWithTags: ['scope:shared', 'scope:api', 'scope:runtime'],
            },
            { sourceTag: 'scope:computations', onlyDependOnLibsWithTags: ['scope:shared'] },
            {
              sourceTag: 'scope:runtime',
              onlyDependOnLibsWithTags: [
                'scope:shared',
                'scope:planner',
                'scope:executor',
                'scope:worker',
                'scope:computations',
              ],
            },
            {
              sourceTag: 'scope:cli',
              onlyDependOnLibsWithTags: ['scope:shared', 'scope:runtime', 'scope:computations'],
            },
          ],
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

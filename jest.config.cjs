// One Jest run over the whole workspace. Suffixes say what a test needs:
// *.spec.ts pure or embedded stores, *.int.spec.ts emulators, *.e2e.spec.ts several processes.
const { compilerOptions } = require('./tsconfig.base.json');

const moduleNameMapper = Object.fromEntries(
  Object.entries(compilerOptions.paths).map(([alias, [target]]) => [
    `^${alias.replace('/', '\\/')}$`,
    `<rootDir>/${target}`,
  ]),
);

const transform = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.base.json', diagnostics: false }],
  // computations written in JavaScript, CommonJS or ES modules (load-computations.ts)
  '^.+\\.[cm]?js$': '<rootDir>/scripts/jest-js-transform.cjs',
};

module.exports = {
  testEnvironment: 'node',
  rootDir: __dirname,
  roots: [
    '<rootDir>/libs',
    '<rootDir>/apps',
    '<rootDir>/computations',
    '<rootDir>/test',
    '<rootDir>/bench',
    '<rootDir>/infra',
  ],
  testMatch: ['**/*.spec.ts'],
  moduleNameMapper,
  transform,
  testTimeout: 60000,
  reporters: ['default', '<rootDir>/scripts/summary-reporter.cjs'],
};

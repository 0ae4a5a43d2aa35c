import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { ProjectConfigInput } from '@almanac/platform';
import { D, Fixture, reasonCodes, statuses } from './fixture';

const REPO = path.resolve(__dirname, '..', '..');
const SEED = path.join(__dirname, 'fixtures', 'seed');

/** Two of the seed's documented examples, as a seed project has them (CommonJS .js). */
const seedFile = (file: string) => fs.readFileSync(path.join(SEED, file), 'utf8');
const SEED_FILES: Record<string, string> = {
  'user-daily-active.js': seedFile('user-daily-active.js'),
  'user-portfolio-summary.js': seedFile('user-portfolio-summary.js'),
  'shared/money.js': seedFile('shared/money.js'),
};

const CONFIG: ProjectConfigInput = {
  warehouse: { path: 'warehouse.duckdb' },
  tables: {
    users: { entityField: 'user_id' },
    logins: { entityField: 'user_id', dateField: 'login_date' },
    orders: { entityField: 'user_id', dateField: 'order_date' },
  },
  entities: { table: 'users', idField: 'user_id', dateField: 'signup_date' },
  execution: { batchSize: 2, workerConcurrency: 2, breaker: { retries: 0 } },
};

/** Orders are inserted out of date order; the window of D with lookback 7 is 2026-01-03..D. */
const DATA = [
  `CREATE TABLE users (user_id VARCHAR, signup_date DATE)`,
  `INSERT INTO users VALUES ('u1','2026-01-01'),('u2','2026-01-01'),('u3','2026-01-01')`,
  `CREATE TABLE logins (user_id VARCHAR, login_date DATE, login_at TIMESTAMP, device VARCHAR)`,
  `INSERT INTO logins VALUES
     ('u1','${D}','${D} 09:00:00','web'),
     ('u1','${D}','${D} 08:00:00','ios'),
     ('u2','2026-01-09','2026-01-09 10:00:00','web')`,
  `CREATE TABLE orders (order_id INTEGER, user_id VARCHAR, order_date DATE, symbol VARCHAR, side VARCHAR, quantity INTEGER, price DOUBLE)`,
  `INSERT INTO orders VALUES
     (3,'u1','${D}','AAPL','sell',1,110.0),
     (1,'u1','2026-01-04','AAPL','buy',3,100.0),
     (2,'u1','2026-01-07','MSFT','buy',2,50.5),
     (4,'u2','${D}','MSFT','buy',1,51.25),
     (5,'u3','2025-12-20','AAPL','buy',1,90.0)`,
];

const EXPECTED_ACTIVE = {
  u1: {
    logins: 2,
    devices: ['ios', 'web'],
    firstLoginAt: `${D}T08:00:00.000Z`,
    lastLoginAt: `${D}T09:00:00.000Z`,
  },
};
const EXPECTED_SUMMARY = {
  u1: {
    orders: 3,
    totalValue: 511,
    positions: { AAPL: 2, MSFT: 2 },
    firstOrderDate: '2026-01-04',
    lastOrderDate: D,
    active: true,
    logins: 2,
  },
  u2: {
    orders: 1,
    totalValue: 51.25,
    positions: { MSFT: 1 },
    firstOrderDate: D,
    lastOrderDate: D,
    active: false,
    logins: 0,
  },
};

// Issue 9: computations written for the seed (CommonJS .js, `module.exports = Class`) run as
// they are, with only the require of the base class changed.
describe("seed compatibility: the seed's documented examples", () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await Fixture.create({ files: SEED_FILES, data: DATA, config: CONFIG });
  });
  afterEach(async () => {
    await f.cleanup();
  });

  it('UserDailyActive and UserPortfolioSummary, CommonJS .js files, run on sample data', async () => {
    const view = await f.run({ date: D });
    expect(view.status).toBe('completed');
    expect(statuses(view)).toEqual({
      UserDailyActive: 'completed',
      UserPortfolioSummary: 'completed',
    });
    expect(view.computations.UserPortfolioSummary.pass).toBe(1);
    expect(await f.results('UserDailyActive', D, ['u1', 'u2', 'u3'])).toEqual(EXPECTED_ACTIVE);
    expect(await f.results('UserPortfolioSummary', D, ['u1', 'u2', 'u3'])).toEqual(
      EXPECTED_SUMMARY,
    );
  });

  it('their code hash covers the shared module they require: editing it re-runs only its user', async () => {
    await f.run({ date: D });
    expect(statuses(await f.run({ date: D }))).toEqual({
      UserDailyActive: 'skipped',
      UserPortfolioSummary: 'skipped',
    });
    f.edit('shared/money.js', 'Math.round(x * 100) / 100', 'Number(x.toFixed(2))');
    const view = await f.run({ date: D });
    expect(reasonCodes(view)).toEqual({
      UserDailyActive: 'unchanged',
      UserPortfolioSummary: 'changed',
    });
    expect(view.computations.UserPortfolioSummary.reason).toEqual({
      code: 'changed',
      changed: ['code'],
    });
  });

  it('bin/almanac runs them as ES modules too (.js with export default, .mjs) with the same results', async () => {
    const cjs = await f.run({ date: D });

    const esm = await Fixture.create({
      data: DATA,
      config: CONFIG,
      files: {
        'user-daily-active.js': SEED_FILES['user-daily-active.js']
          .replace(
            "const { Computation } = require('@almanac/kernel');",
            "import { Computation } from '@almanac/kernel';",
          )
          .replace('module.exports = UserDailyActive;', 'export default UserDailyActive;'),
        'user-portfolio-summary.mjs': SEED_FILES['user-portfolio-summary.js']
          .replace(
            "const { Computation } = require('@almanac/kernel');",
            "import { Computation } from '@almanac/kernel';",
          )
          .replace(
            "const { round2 } = require('./shared/money');",
            "import { round2 } from './shared/money.mjs';",
          )
          .replace('class UserPortfolioSummary', 'export class UserPortfolioSummary')
          .replace('module.exports = UserPortfolioSummary;', ''),
        'shared/money.mjs': SEED_FILES['shared/money.js'].replace(
          'module.exports = { round2 };',
          'export { round2 };',
        ),
      },
    });
    try {
      esm.writeConfigFile(CONFIG);
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [path.join(REPO, 'bin', 'almanac'), 'run', '--date', D, '--json', '--project', esm.dir],
        { env: { ...process.env, ALMANAC_DEBUG: '1' } },
      );
      const run = JSON.parse(stdout) as typeof cjs;
      expect(statuses(run)).toEqual({
        UserDailyActive: 'completed',
        UserPortfolioSummary: 'completed',
      });
      for (const name of ['UserDailyActive', 'UserPortfolioSummary'])
        expect(run.computations[name].resultHash).toBe(cjs.computations[name].resultHash);
      expect(Object.keys(run.computations.UserPortfolioSummary.codeFiles)).toEqual([
        'computations/shared/money.mjs',
        'computations/user-portfolio-summary.mjs',
      ]);
    } finally {
      await esm.cleanup();
    }
  });
});

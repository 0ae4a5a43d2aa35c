import * as path from 'node:path';
import {
  buildManifest,
  CodeHashCache,
  computeCodeHash,
  parseComputationConfig,
} from '@almanac/kernel';
import { MarketStats } from '../market-stats';
import { PlatformDailySummary } from '../platform-daily-summary';
import { UserDailyActive } from '../user-daily-active';
import { UserOrderStats } from '../user-order-stats';
import { UserPortfolioSummary } from '../user-portfolio-summary';
import { UserRiskScore } from '../user-risk-score';

const dir = path.resolve(__dirname, '..');
const root = path.resolve(dir, '..');
const defs = [
  { ctor: MarketStats, file: 'market-stats.ts' },
  { ctor: PlatformDailySummary, file: 'platform-daily-summary.ts' },
  { ctor: UserDailyActive, file: 'user-daily-active.ts' },
  { ctor: UserOrderStats, file: 'user-order-stats.ts' },
  { ctor: UserPortfolioSummary, file: 'user-portfolio-summary.ts' },
  { ctor: UserRiskScore, file: 'user-risk-score.ts' },
].map((d) => ({ ...d, file: path.join(dir, d.file) }));

describe('the example DAG', () => {
  it('has valid configs whose names match their class names', () => {
    for (const { ctor, file } of defs) {
      expect(parseComputationConfig(ctor.getConfig(), file).name).toBe(ctor.name);
    }
  });

  it('forms three passes', () => {
    expect(buildManifest(defs).passes).toEqual([
      ['MarketStats', 'UserDailyActive', 'UserOrderStats'],
      ['PlatformDailySummary', 'UserPortfolioSummary'],
      ['UserRiskScore'],
    ]);
  });

  it("hashes each computation with its shared layer and rules modules (type-only imports don't count)", async () => {
    const cache = new CodeHashCache();
    const closure = async (file: string) =>
      (await computeCodeHash(path.join(dir, file), root, cache)).files.map((f) => f.path);
    expect(await closure('market-stats.ts')).toEqual([
      'computations/market-stats.ts',
      'computations/rules/risk-rules.ts',
      'computations/shared/numbers.ts',
    ]);
    expect(await closure('user-order-stats.ts')).toEqual([
      'computations/shared/numbers.ts',
      'computations/shared/portfolio.ts',
      'computations/user-order-stats.ts',
    ]);
    expect(await closure('user-portfolio-summary.ts')).toEqual([
      'computations/shared/numbers.ts',
      'computations/shared/portfolio.ts',
      'computations/user-portfolio-summary.ts',
    ]);
    expect(await closure('user-risk-score.ts')).toEqual([
      'computations/rules/risk-rules.ts',
      'computations/shared/numbers.ts',
      'computations/user-risk-score.ts',
    ]);
    expect(await closure('user-daily-active.ts')).toEqual([
      'computations/shared/numbers.ts',
      'computations/user-daily-active.ts',
    ]);
  });
});

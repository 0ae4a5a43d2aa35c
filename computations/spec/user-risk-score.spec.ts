import { UserRiskScore } from '../user-risk-score';
import { fakeContext } from './fake-context';

const D = '2026-01-15';
// raw = 50 x 0.5 (concentration) + 30 x (2500 / 1000) / 5 (turnover) + 20 x 0.25 (short) = 25 + 15 + 5 = 45
const portfolio = {
  largestPositionShare: 0.5,
  grossExposure: 1000,
  notional7d: 2500,
  shortShare: 0.25,
};

const run = (previousResult: unknown, p: unknown = portfolio) =>
  new UserRiskScore().process(
    fakeContext({
      date: D,
      entityId: 'u1',
      previousResult,
      dependencies: p ? { UserPortfolioSummary: { u1: p } } : {},
    }),
  );

describe('UserRiskScore', () => {
  it('scores the raw factors when there is no previous result', async () => {
    expect(await run(null)).toEqual({ rawScore: 45, score: 45, band: 'medium', smoothed: false });
  });

  it("smooths today's score with yesterday's (EWMA, alpha 0.3), which can change the band", async () => {
    // 0.3 x 45 + 0.7 x 80 = 69.5
    expect(await run({ rawScore: 90, score: 80, band: 'high', smoothed: true })).toEqual({
      rawScore: 45,
      score: 69.5,
      band: 'high',
      smoothed: true,
    });
    // 0.3 x 45 + 0.7 x 10 = 20.5
    expect(await run({ score: 10 })).toEqual({
      rawScore: 45,
      score: 20.5,
      band: 'low',
      smoothed: true,
    });
  });

  it('ignores a previous result without a numeric score', async () => {
    expect(await run({ score: 'high' })).toEqual({
      rawScore: 45,
      score: 45,
      band: 'medium',
      smoothed: false,
    });
  });

  it('caps turnover and scores an empty book as zero turnover', async () => {
    expect(
      await run(null, {
        largestPositionShare: 1,
        grossExposure: 10,
        notional7d: 1e6,
        shortShare: 1,
      }),
    ).toEqual({
      rawScore: 100,
      score: 100,
      band: 'high',
      smoothed: false,
    });
    expect(
      await run(null, {
        largestPositionShare: 0,
        grossExposure: 0,
        notional7d: 500,
        shortShare: 0,
      }),
    ).toEqual({
      rawScore: 0,
      score: 0,
      band: 'low',
      smoothed: false,
    });
  });

  it('returns null when the user has no portfolio summary', async () => {
    expect(await run({ score: 50 }, null)).toBeNull();
  });

  it('is historical', () => {
    expect(UserRiskScore.getConfig().isHistorical).toBe(true);
  });
});

import { Computation, type ComputationContext } from '@almanac/kernel';
import { rawRiskScore, riskBand, smoothScore, type RiskBand } from './rules/risk-rules';
import { round6 } from './shared/numbers';
import type { UserPortfolioSummaryResult } from './user-portfolio-summary';

export interface UserRiskScoreResult {
  /** today's unsmoothed score, 0..100 */
  rawScore: number;
  /** EWMA of the raw scores; equals rawScore when there is no previous result */
  score: number;
  band: RiskBand;
  smoothed: boolean;
}

/** A user's smoothed risk score (per-entity, pass 2, historical: builds on yesterday's score). */
export class UserRiskScore extends Computation {
  static override getConfig() {
    return {
      name: 'UserRiskScore',
      type: 'per-entity',
      requires: {},
      dependencies: ['UserPortfolioSummary'],
      schedule: { frequency: 'daily', time: '02:00', timezone: 'UTC' },
      isHistorical: true,
      ttlDays: 730,
    } as const;
  }

  async process(ctx: ComputationContext): Promise<UserRiskScoreResult | null> {
    const p = ctx.getDependency<UserPortfolioSummaryResult>('UserPortfolioSummary');
    if (!p) return null;
    const raw = round6(
      rawRiskScore({
        concentration: p.largestPositionShare,
        turnover: p.grossExposure > 0 ? p.notional7d / p.grossExposure : 0,
        shortShare: p.shortShare,
      }),
    );
    const prev = previousScore(ctx.previousResult);
    const score = round6(smoothScore(raw, prev));
    return { rawScore: raw, score, band: riskBand(score), smoothed: prev !== null };
  }
}

function previousScore(previous: unknown): number | null {
  if (previous === null || typeof previous !== 'object') return null;
  const score = (previous as Partial<UserRiskScoreResult>).score;
  return typeof score === 'number' && Number.isFinite(score) ? score : null;
}

import { Computation, type ComputationContext } from '@almanac/kernel';
import type { MarketStatsResult } from './market-stats';
import { round6 } from './shared/numbers';
import { valuePositions, type Holding } from './shared/portfolio';
import type { UserDailyActiveResult } from './user-daily-active';
import type { UserOrderStatsResult } from './user-order-stats';

export interface UserPortfolioSummaryResult {
  holdings: Record<string, Holding>;
  positionCount: number;
  marketValue: number;
  grossExposure: number;
  /** market value minus net cost of the priced holdings */
  unrealizedPnl: number;
  largestPositionShare: number;
  shortShare: number;
  /** held symbols without a close on the date */
  unpriced: string[];
  /** traded value over the 8-day window (from UserOrderStats) */
  notional7d: number;
  ordersToday: number;
  activeToday: boolean;
  logins: number;
}

/** Values a user's positions at the day's closes (per-entity, pass 1). */
export class UserPortfolioSummary extends Computation {
  static override getConfig() {
    return {
      name: 'UserPortfolioSummary',
      type: 'per-entity',
      requires: {},
      dependencies: ['UserOrderStats', 'UserDailyActive', 'MarketStats'],
      schedule: { frequency: 'daily', time: '01:30', timezone: 'UTC' },
      isHistorical: false,
      ttlDays: 365,
    } as const;
  }

  async process(ctx: ComputationContext): Promise<UserPortfolioSummaryResult | null> {
    const stats = ctx.getDependency<UserOrderStatsResult>('UserOrderStats');
    if (!stats) return null;
    const market = ctx.getDependency<MarketStatsResult>('MarketStats', '_global');
    const active = ctx.getDependency<UserDailyActiveResult>('UserDailyActive');
    const closes: Record<string, number> = {};
    if (market) for (const [symbol, s] of Object.entries(market.symbols)) closes[symbol] = s.close;
    else this.log('WARN', `no MarketStats for ${ctx.date}: every holding is unpriced`);

    const v = valuePositions(stats.positions, closes);
    return {
      holdings: v.holdings,
      positionCount: Object.keys(stats.positions).length,
      marketValue: v.marketValue,
      grossExposure: v.grossExposure,
      unrealizedPnl: round6(v.marketValue - v.pricedNetCost),
      largestPositionShare: v.largestPositionShare,
      shortShare: v.shortShare,
      unpriced: v.unpriced,
      notional7d: stats.notional,
      ordersToday: stats.ordersToday,
      activeToday: active !== null,
      logins: active?.logins ?? 0,
    };
  }
}

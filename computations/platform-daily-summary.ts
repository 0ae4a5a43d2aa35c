import { Computation, type ComputationContext } from '@almanac/kernel';
import type { MarketStatsResult } from './market-stats';
import { num, round6, sortedRecord, str } from './shared/numbers';

export interface PlatformDailySummaryResult {
  newUsers: number;
  newUsersByTier: Record<string, number>;
  orderCount: number;
  /** distinct users who placed an order on the date */
  traders: number;
  buyNotional: number;
  sellNotional: number;
  /** the three symbols with the highest traded value, ties by symbol */
  topSymbols: Array<{ symbol: string; notional: number }>;
  market: { advancers: number; decliners: number; bigMoves: string[] } | null;
}

/** The platform's day in numbers (global, pass 1). */
export class PlatformDailySummary extends Computation {
  static override getConfig() {
    return {
      name: 'PlatformDailySummary',
      type: 'global',
      requires: {
        users: { lookback: 0, mandatory: false },
        orders: { lookback: 0, mandatory: false },
      },
      dependencies: ['MarketStats'],
      schedule: { frequency: 'daily', time: '03:00', timezone: 'UTC' },
      isHistorical: false,
      ttlDays: 365,
    } as const;
  }

  async process(ctx: ComputationContext): Promise<PlatformDailySummaryResult> {
    // the window is the date only, but filter anyway: a global fetch must not double count
    const users = (ctx.data.users ?? []).filter((u) => u.signup_date === ctx.date);
    const orders = (ctx.data.orders ?? []).filter((o) => o.order_date === ctx.date);

    const byTier: Record<string, number> = {};
    for (const u of users) {
      const tier = str(u.tier, 'tier');
      byTier[tier] = (byTier[tier] ?? 0) + 1;
    }

    const traders = new Set<string>();
    const bySymbol = new Map<string, number>();
    let buy = 0;
    let sell = 0;
    // sorted by order id so float sums do not depend on row order
    const sorted = [...orders].sort((a, b) => (String(a.order_id) < String(b.order_id) ? -1 : 1));
    for (const o of sorted) {
      const value = num(o.quantity, 'quantity') * num(o.price, 'price');
      const symbol = str(o.symbol, 'symbol');
      traders.add(str(o.user_id, 'user_id'));
      bySymbol.set(symbol, (bySymbol.get(symbol) ?? 0) + value);
      if (str(o.side, 'side') === 'buy') buy += value;
      else sell += value;
    }
    const topSymbols = [...bySymbol]
      .map(([symbol, v]) => ({ symbol, notional: round6(v) }))
      .sort((a, b) => b.notional - a.notional || (a.symbol < b.symbol ? -1 : 1))
      .slice(0, 3);

    const market = ctx.getDependency<MarketStatsResult>('MarketStats', '_global');
    return {
      newUsers: users.length,
      newUsersByTier: sortedRecord(byTier),
      orderCount: orders.length,
      traders: traders.size,
      buyNotional: round6(buy),
      sellNotional: round6(sell),
      topSymbols,
      market: market
        ? { advancers: market.advancers, decliners: market.decliners, bigMoves: market.bigMoves }
        : null,
    };
  }
}

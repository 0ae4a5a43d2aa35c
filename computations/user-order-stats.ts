import { Computation, type ComputationContext } from '@almanac/kernel';
import { round6 } from './shared/numbers';
import { netPositions, notional, toOrder, type Position } from './shared/portfolio';

export interface UserOrderStatsResult {
  /** orders in the 8-day window [date-7, date] */
  orderCount: number;
  ordersToday: number;
  buyCount: number;
  sellCount: number;
  /** traded value (quantity x price) over the window and on the date */
  notional: number;
  notionalToday: number;
  lastOrderDate: string;
  /** net positions built by the window's orders, sorted by symbol, zero positions dropped */
  positions: Record<string, Position>;
}

/** A user's trading over the last 8 days (per-entity, pass 0). */
export class UserOrderStats extends Computation {
  static override getConfig() {
    return {
      name: 'UserOrderStats',
      type: 'per-entity',
      requires: { orders: { lookback: 7, mandatory: true } },
      dependencies: [],
      schedule: { frequency: 'daily', time: '01:00', timezone: 'UTC' },
      isHistorical: false,
      ttlDays: 365,
      failureTolerance: 0.01,
    } as const;
  }

  async process(ctx: ComputationContext): Promise<UserOrderStatsResult | null> {
    const rows = ctx.data.orders ?? [];
    if (rows.length === 0) return null;
    // sorted so that sums are added in the same order whatever order the rows came in
    const orders = rows
      .map(toOrder)
      .sort((a, b) => (a.orderId < b.orderId ? -1 : a.orderId > b.orderId ? 1 : 0));
    let total = 0;
    let today = 0;
    let ordersToday = 0;
    let buyCount = 0;
    let lastOrderDate = '';
    for (const o of orders) {
      total += notional(o);
      if (o.date === ctx.date) {
        ordersToday++;
        today += notional(o);
      }
      if (o.side === 'buy') buyCount++;
      if (o.date > lastOrderDate) lastOrderDate = o.date;
    }
    return {
      orderCount: orders.length,
      ordersToday,
      buyCount,
      sellCount: orders.length - buyCount,
      notional: round6(total),
      notionalToday: round6(today),
      lastOrderDate,
      positions: netPositions(orders),
    };
  }
}

// Position and valuation helpers shared by UserOrderStats and UserPortfolioSummary.
import { num, round6, sortedRecord, str } from './numbers';

type Side = 'buy' | 'sell';

interface Order {
  orderId: string;
  date: string;
  symbol: string;
  side: Side;
  quantity: number;
  price: number;
}

/** Net position of one symbol over the orders seen: signed quantity and net cash paid. */
export interface Position {
  quantity: number;
  netCost: number;
}

export interface Holding {
  quantity: number;
  close: number;
  value: number;
}

interface Valuation {
  holdings: Record<string, Holding>;
  /** sum of signed values (shorts count negative) */
  marketValue: number;
  /** sum of absolute values */
  grossExposure: number;
  /** gross value of short holdings / gross exposure (0 when nothing is held) */
  shortShare: number;
  /** largest absolute holding / gross exposure (0 when nothing is held) */
  largestPositionShare: number;
  /** net cost of the priced holdings only, so P&L compares like with like */
  pricedNetCost: number;
  /** symbols held that have no close for the day */
  unpriced: string[];
}

export function toOrder(row: Record<string, unknown>): Order {
  const side = str(row.side, 'side');
  if (side !== 'buy' && side !== 'sell') {
    throw new TypeError(`column "side": expected 'buy' or 'sell', got ${JSON.stringify(side)}`);
  }
  return {
    orderId: str(row.order_id, 'order_id'),
    date: str(row.order_date, 'order_date'),
    symbol: str(row.symbol, 'symbol'),
    side,
    quantity: num(row.quantity, 'quantity'),
    price: num(row.price, 'price'),
  };
}

export function notional(o: Order): number {
  return o.quantity * o.price;
}

/** Net positions per symbol (sorted keys); positions that net to zero quantity are dropped. */
export function netPositions(orders: Order[]): Record<string, Position> {
  const acc: Record<string, Position> = {};
  for (const o of orders) {
    const p = (acc[o.symbol] ??= { quantity: 0, netCost: 0 });
    const sign = o.side === 'buy' ? 1 : -1;
    p.quantity += sign * o.quantity;
    p.netCost += sign * notional(o);
  }
  const out: Record<string, Position> = {};
  for (const [symbol, p] of Object.entries(sortedRecord(acc))) {
    if (p.quantity !== 0) out[symbol] = { quantity: p.quantity, netCost: round6(p.netCost) };
  }
  return out;
}

/** Values positions at the given closes; symbols without a close are listed in `unpriced`. */
export function valuePositions(
  positions: Record<string, Position>,
  closes: Record<string, number>,
): Valuation {
  const holdings: Record<string, Holding> = {};
  const unpriced: string[] = [];
  let marketValue = 0;
  let gross = 0;
  let shortGross = 0;
  let largest = 0;
  let pricedNetCost = 0;
  for (const symbol of Object.keys(positions).sort()) {
    const p = positions[symbol];
    const close = closes[symbol];
    if (close === undefined) {
      unpriced.push(symbol);
      continue;
    }
    const value = p.quantity * close;
    holdings[symbol] = { quantity: p.quantity, close, value: round6(value) };
    marketValue += value;
    gross += Math.abs(value);
    if (value < 0) shortGross += -value;
    largest = Math.max(largest, Math.abs(value));
    pricedNetCost += p.netCost;
  }
  return {
    holdings,
    marketValue: round6(marketValue),
    grossExposure: round6(gross),
    shortShare: gross > 0 ? round6(shortGross / gross) : 0,
    largestPositionShare: gross > 0 ? round6(largest / gross) : 0,
    pricedNetCost: round6(pricedNetCost),
    unpriced,
  };
}

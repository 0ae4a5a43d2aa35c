import { Computation, type ComputationContext } from '@almanac/kernel';
import { isBigMove } from './rules/risk-rules';
import { num, round6, str } from './shared/numbers';

export interface SymbolStats {
  close: number;
  volume: number;
  /** latest close before the date inside the window, null when there is none */
  prevClose: number | null;
  change: number | null;
  changePct: number | null;
  bigMove: boolean;
}

export interface MarketStatsResult {
  symbolCount: number;
  advancers: number;
  decliners: number;
  unchanged: number;
  /** symbols whose close moved at least BIG_MOVE_PCT, sorted */
  bigMoves: string[];
  /** mean changePct over symbols that have a previous close, null when none has */
  avgChangePct: number | null;
  symbols: Record<string, SymbolStats>;
}

/** Per-symbol close and day change for the date (global, pass 0). */
export class MarketStats extends Computation {
  static override getConfig() {
    return {
      name: 'MarketStats',
      type: 'global',
      // lookback 1: the window holds the previous day's closes to compute the change
      requires: { prices: { lookback: 1, mandatory: true } },
      dependencies: [],
      schedule: { frequency: 'daily', time: '01:00', timezone: 'UTC' },
      isHistorical: false,
      ttlDays: 365,
    } as const;
  }

  async process(ctx: ComputationContext): Promise<MarketStatsResult | null> {
    const today = new Map<string, { close: number; volume: number }>();
    const previous = new Map<string, { date: string; close: number }>();
    for (const row of ctx.data.prices ?? []) {
      const symbol = str(row.symbol, 'symbol');
      const date = str(row.price_date, 'price_date');
      const close = num(row.close, 'close');
      if (date === ctx.date) {
        today.set(symbol, { close, volume: num(row.volume, 'volume') });
      } else if (date < ctx.date) {
        const p = previous.get(symbol);
        if (!p || p.date < date) previous.set(symbol, { date, close });
      }
    }
    if (today.size === 0) {
      this.log('WARN', `no prices on ${ctx.date}`);
      return null;
    }

    const symbols: Record<string, SymbolStats> = {};
    let advancers = 0;
    let decliners = 0;
    let unchanged = 0;
    let pctSum = 0;
    let pctCount = 0;
    const bigMoves: string[] = [];
    for (const symbol of [...today.keys()].sort()) {
      const { close, volume } = today.get(symbol)!;
      const prev = previous.get(symbol)?.close ?? null;
      const change = prev === null ? null : round6(close - prev);
      const changePct = prev === null || prev === 0 ? null : round6((close - prev) / prev);
      const bigMove = isBigMove(changePct);
      if (change !== null) {
        if (change > 0) advancers++;
        else if (change < 0) decliners++;
        else unchanged++;
      }
      if (changePct !== null) {
        pctSum += changePct;
        pctCount++;
      }
      if (bigMove) bigMoves.push(symbol);
      symbols[symbol] = {
        close: round6(close),
        volume,
        prevClose: prev === null ? null : round6(prev),
        change,
        changePct,
        bigMove,
      };
    }
    return {
      symbolCount: today.size,
      advancers,
      decliners,
      unchanged,
      bigMoves,
      avgChangePct: pctCount ? round6(pctSum / pctCount) : null,
      symbols,
    };
  }
}

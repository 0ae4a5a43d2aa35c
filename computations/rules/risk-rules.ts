// Business thresholds shared by MarketStats (move classification) and UserRiskScore (scoring, bands).

/** A symbol whose close moved at least this fraction from the previous close is a "big move". */
const BIG_MOVE_PCT = 0.05;

/** EWMA weight of today's raw score; the rest comes from yesterday's smoothed score. */
const RISK_SMOOTHING_ALPHA = 0.3;

/** Points of the raw score (0..100) each factor can contribute at most. */
const RISK_WEIGHTS = { concentration: 50, turnover: 30, short: 20 } as const;

/** 7-day traded notional / gross exposure at which the turnover factor saturates. */
const TURNOVER_CAP = 5;

/** Bands by upper bound (inclusive), in ascending order; the last one catches everything. */
const RISK_BANDS = [
  { band: 'low', upTo: 30 },
  { band: 'medium', upTo: 60 },
  { band: 'high', upTo: 100 },
] as const;

export type RiskBand = (typeof RISK_BANDS)[number]['band'];

export function isBigMove(changePct: number | null): boolean {
  return changePct !== null && Math.abs(changePct) >= BIG_MOVE_PCT;
}

interface RiskFactors {
  /** largest position / gross exposure, 0..1 */
  concentration: number;
  /** 7-day traded notional / gross exposure, >= 0 */
  turnover: number;
  /** short exposure / gross exposure, 0..1 */
  shortShare: number;
}

/** Raw risk score 0..100 (unrounded). */
export function rawRiskScore(f: RiskFactors): number {
  const clamp = (x: number) => Math.min(1, Math.max(0, x));
  return (
    RISK_WEIGHTS.concentration * clamp(f.concentration) +
    RISK_WEIGHTS.turnover * clamp(f.turnover / TURNOVER_CAP) +
    RISK_WEIGHTS.short * clamp(f.shortShare)
  );
}

/** Exponentially weighted moving average of the score; no previous score means no smoothing. */
export function smoothScore(raw: number, previous: number | null): number {
  return previous === null
    ? raw
    : RISK_SMOOTHING_ALPHA * raw + (1 - RISK_SMOOTHING_ALPHA) * previous;
}

export function riskBand(score: number): RiskBand {
  for (const b of RISK_BANDS) if (score <= b.upTo) return b.band;
  return RISK_BANDS[RISK_BANDS.length - 1].band;
}

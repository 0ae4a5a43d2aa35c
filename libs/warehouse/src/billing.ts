/**
 * BigQuery's on-demand billing of one query (ADR 0026): the bytes it processes are rounded up to
 * the next MiB, with at least 10 MiB per table it reads. Dry runs give the bytes processed.
 */
const MIB = 1024 ** 2;
const TIB = 1024 ** 4;
const MIN_BILLED_PER_TABLE = 10 * MIB;

export function billedBytes(bytesProcessed: number): number {
  const rounded = Math.ceil(Math.max(0, bytesProcessed) / MIB) * MIB;
  return Math.max(MIN_BILLED_PER_TABLE, rounded);
}

/** the price of `bytes` billed at `pricePerTiB` (on-demand), rounded to the cent */
export function priceOf(bytes: number, pricePerTiB: number): number {
  return Math.round((bytes / TIB) * pricePerTiB * 100) / 100;
}

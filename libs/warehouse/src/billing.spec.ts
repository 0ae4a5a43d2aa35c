import { billedBytes, priceOf } from './billing';

describe('BigQuery on-demand billing of one query', () => {
  const MIB = 1024 ** 2;
  it('bills at least 10 MiB for a table read, however little it processes', () => {
    expect(billedBytes(0)).toBe(10 * MIB);
    expect(billedBytes(1)).toBe(10 * MIB);
    expect(billedBytes(10 * MIB)).toBe(10 * MIB);
  });
  it('rounds what it processes up to the next MiB above the minimum', () => {
    expect(billedBytes(10 * MIB + 1)).toBe(11 * MIB);
    expect(billedBytes(3 * 1024 * MIB)).toBe(3 * 1024 * MIB);
  });
  it('prices bytes per TiB, to the cent', () => {
    expect(priceOf(1024 ** 4, 6.25)).toBe(6.25);
    expect(priceOf(0.5 * 1024 ** 4, 6.25)).toBe(3.13);
    expect(priceOf(10 * MIB, 6.25)).toBe(0);
  });
});

import { MarketStats } from '../market-stats';
import { fakeContext, reversed } from './fake-context';

const D = '2026-01-15';
const P = '2026-01-14';
const price = (symbol: string, price_date: string, close: number, volume = 1000) => ({
  symbol,
  price_date,
  close,
  volume,
});

const rows = [
  price('AAPL', P, 100),
  price('AAPL', D, 106, 5000),
  price('MSFT', P, 200),
  price('MSFT', D, 199),
  price('KO', P, 50),
  price('KO', D, 50),
  price('NEW', D, 10),
  price('V', P, 100),
  price('V', D, 100.1),
];

describe('MarketStats', () => {
  it('computes close, previous close and day change per symbol', async () => {
    const r = await new MarketStats().process(fakeContext({ date: D, data: { prices: rows } }));
    expect(r).toEqual({
      symbolCount: 5,
      advancers: 2,
      decliners: 1,
      unchanged: 1,
      bigMoves: ['AAPL'],
      avgChangePct: 0.014, // (0.06 - 0.005 + 0 + 0.001) / 4
      symbols: {
        AAPL: {
          close: 106,
          volume: 5000,
          prevClose: 100,
          change: 6,
          changePct: 0.06,
          bigMove: true,
        },
        KO: { close: 50, volume: 1000, prevClose: 50, change: 0, changePct: 0, bigMove: false },
        MSFT: {
          close: 199,
          volume: 1000,
          prevClose: 200,
          change: -1,
          changePct: -0.005,
          bigMove: false,
        },
        NEW: {
          close: 10,
          volume: 1000,
          prevClose: null,
          change: null,
          changePct: null,
          bigMove: false,
        },
        // 100.1 - 100 is 0.09999999999999432 in floating point: rounding makes it 0.1
        V: {
          close: 100.1,
          volume: 1000,
          prevClose: 100,
          change: 0.1,
          changePct: 0.001,
          bigMove: false,
        },
      },
    });
    expect(Object.keys(r!.symbols)).toEqual(['AAPL', 'KO', 'MSFT', 'NEW', 'V']);
  });

  it('gives the same result whatever the row order', async () => {
    const a = await new MarketStats().process(fakeContext({ date: D, data: { prices: rows } }));
    const b = await new MarketStats().process(
      fakeContext({ date: D, data: { prices: reversed(rows) } }),
    );
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  });

  it('reads BIGINT volumes handed over as strings', async () => {
    const r = await new MarketStats().process(
      fakeContext({
        date: D,
        data: { prices: [{ symbol: 'AAPL', price_date: D, close: 1, volume: '123' }] },
      }),
    );
    expect(r!.symbols.AAPL.volume).toBe(123);
  });

  it('returns null when the window has prices only for the previous day', async () => {
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const r = await new MarketStats().process(
        fakeContext({ date: D, data: { prices: [price('AAPL', P, 100)] } }),
      );
      expect(r).toBeNull();
      expect(stderr).toHaveBeenCalledWith('[MarketStats] no prices on 2026-01-15\n');
    } finally {
      stderr.mockRestore();
    }
  });

  it('names the column when a value has the wrong type', async () => {
    await expect(
      new MarketStats().process(
        fakeContext({
          date: D,
          data: { prices: [{ symbol: 'AAPL', price_date: D, close: null, volume: 1 }] },
        }),
      ),
    ).rejects.toThrow('column "close": expected a number, got null');
  });
});

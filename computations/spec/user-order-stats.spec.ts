import { UserOrderStats } from '../user-order-stats';
import { fakeContext, reversed } from './fake-context';

const D = '2026-01-15';
const order = (
  order_id: string,
  order_date: string,
  symbol: string,
  side: string,
  quantity: number,
  price: number,
) => ({
  order_id,
  user_id: 'u1',
  order_date,
  symbol,
  side,
  quantity,
  price,
});

const u1Orders = [
  order('o1', '2026-01-09', 'AAPL', 'buy', 10, 100),
  order('o2', '2026-01-12', 'MSFT', 'buy', 5, 200),
  order('o3', D, 'AAPL', 'sell', 4, 110),
  order('o4', D, 'KO', 'buy', 3, 50.1),
  order('o5', '2026-01-14', 'MSFT', 'sell', 5, 210),
];

describe('UserOrderStats', () => {
  it('summarises the window and nets positions (a position closed out is dropped)', async () => {
    const expected = {
      orderCount: 5,
      ordersToday: 2,
      buyCount: 3,
      sellCount: 2,
      notional: 3640.3, // 1000 + 1000 + 440 + 150.3 + 1050
      notionalToday: 590.3, // 3 x 50.1 is 150.29999999999998 before rounding
      lastOrderDate: D,
      positions: { AAPL: { quantity: 6, netCost: 560 }, KO: { quantity: 3, netCost: 150.3 } },
    };
    const ctx = (rows: typeof u1Orders) =>
      fakeContext({ date: D, entityId: 'u1', data: { orders: rows } });
    expect(await new UserOrderStats().process(ctx(u1Orders))).toEqual(expected);
    expect(JSON.stringify(await new UserOrderStats().process(ctx(reversed(u1Orders))))).toBe(
      JSON.stringify(expected),
    );
  });

  it('returns null for a user without orders in the window', async () => {
    expect(
      await new UserOrderStats().process(
        fakeContext({ date: D, entityId: 'u9', data: { orders: [] } }),
      ),
    ).toBeNull();
  });

  it('rejects an order with an unknown side, naming the column', async () => {
    const bad = [order('o1', D, 'AAPL', 'hold', 1, 1)];
    await expect(
      new UserOrderStats().process(fakeContext({ date: D, entityId: 'u1', data: { orders: bad } })),
    ).rejects.toThrow(`column "side": expected 'buy' or 'sell', got "hold"`);
  });

  it('declares a mandatory 7-day orders window', () => {
    expect(UserOrderStats.getConfig().requires).toEqual({
      orders: { lookback: 7, mandatory: true },
    });
  });
});

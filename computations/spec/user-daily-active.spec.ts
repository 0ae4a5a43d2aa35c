import { UserDailyActive } from '../user-daily-active';
import { fakeContext, reversed } from './fake-context';

const D = '2026-01-15';
const logins = [
  { user_id: 'u1', login_date: D, login_at: '2026-01-15T18:00:05.000Z', device: 'web' },
  { user_id: 'u1', login_date: D, login_at: '2026-01-15T07:30:00.000Z', device: 'ios' },
  { user_id: 'u1', login_date: D, login_at: '2026-01-15T12:00:00.000Z', device: 'web' },
];

describe('UserDailyActive', () => {
  it('counts logins, distinct devices and the first and last login', async () => {
    const expected = {
      logins: 3,
      devices: ['ios', 'web'],
      firstLoginAt: '2026-01-15T07:30:00.000Z',
      lastLoginAt: '2026-01-15T18:00:05.000Z',
    };
    const ctx = (rows: typeof logins) =>
      fakeContext({ date: D, entityId: 'u1', data: { logins: rows } });
    expect(await new UserDailyActive().process(ctx(logins))).toEqual(expected);
    expect(await new UserDailyActive().process(ctx(reversed(logins)))).toEqual(expected);
  });

  it('returns null for a user who did not log in', async () => {
    expect(
      await new UserDailyActive().process(
        fakeContext({ date: D, entityId: 'u2', data: { logins: [] } }),
      ),
    ).toBeNull();
    expect(
      await new UserDailyActive().process(fakeContext({ date: D, entityId: 'u2' })),
    ).toBeNull();
  });
});

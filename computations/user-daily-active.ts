import { Computation, type ComputationContext } from '@almanac/kernel';
import { str } from './shared/numbers';

export interface UserDailyActiveResult {
  logins: number;
  /** distinct devices, sorted */
  devices: string[];
  firstLoginAt: string;
  lastLoginAt: string;
}

/** Whether and how a user logged in on the date (per-entity, pass 0). */
export class UserDailyActive extends Computation {
  static override getConfig() {
    return {
      name: 'UserDailyActive',
      type: 'per-entity',
      requires: { logins: { lookback: 0, mandatory: false } },
      dependencies: [],
      schedule: { frequency: 'daily', time: '01:00', timezone: 'UTC' },
      isHistorical: false,
      ttlDays: 90,
    } as const;
  }

  async process(ctx: ComputationContext): Promise<UserDailyActiveResult | null> {
    const logins = ctx.data.logins ?? [];
    if (logins.length === 0) return null;
    const times = logins.map((r) => str(r.login_at, 'login_at')).sort();
    const devices = [...new Set(logins.map((r) => str(r.device, 'device')))].sort();
    return {
      logins: logins.length,
      devices,
      firstLoginAt: times[0],
      lastLoginAt: times[times.length - 1],
    };
  }
}

import { computation, STANDARD_FILES } from './fixture';

/** Global, depends on DailyVolume: blocked wherever DailyVolume is impossible (no orders that day). */
const VOLUME_BAND = computation({
  className: 'VolumeBand',
  config: { name: 'VolumeBand', type: 'global', dependencies: ['DailyVolume'] },
  body: `    const v = ctx.getDependency<{ volume: number }>('DailyVolume', '_global');
    return { band: v && v.volume >= 20 ? 'busy' : 'quiet' };`,
});

/** The standard computations and VolumeBand: OrderTotals -> UserBand, DailyVolume -> VolumeBand. */
export const PREVIEW_FILES = { ...STANDARD_FILES, 'volume-band.ts': VOLUME_BAND };

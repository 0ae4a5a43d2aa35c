// The pure parts. CheckpointedProjections over real stores is tested in libs/eventlog
// (src/checkpoints): eventlog depends on projections, so a spec here importing it would be a cycle.
import { EventCatalog, eventSchemas, type EventType } from '@almanac/contracts';
import { projectionsFingerprint } from './checkpointed-projections';
import { decisionProjection } from './decision.projection';
import { hashIndexProjection } from './hash-index.projection';
import { runProjection } from './run.projection';
import { diffJson, type ViewDifference } from './view-diff';

describe('projections fingerprint', () => {
  const base = { runs: runProjection, hashIndex: hashIndexProjection };

  it('is the same for the same projections and version, whatever their order', () => {
    expect(projectionsFingerprint(base, '1')).toBe(
      projectionsFingerprint({ hashIndex: hashIndexProjection, runs: runProjection }, '1'),
    );
  });

  it('changes with the version, a view name, a projection or the event types it handles', () => {
    const fp = projectionsFingerprint(base, '1');
    expect(projectionsFingerprint(base, '2')).not.toBe(fp);
    expect(projectionsFingerprint({ ...base, decisions: decisionProjection }, '1')).not.toBe(fp);
    expect(
      projectionsFingerprint({ runs: runProjection, index: hashIndexProjection }, '1'),
    ).not.toBe(fp);
    expect(
      projectionsFingerprint(
        {
          ...base,
          hashIndex: {
            ...hashIndexProjection,
            handles: ['ComputationStarted', 'ComputationCompleted'],
          },
        },
        '1',
      ),
    ).not.toBe(fp);
  });
});

describe('projections fingerprint and event schema versions', () => {
  const runs = { runs: runProjection };
  const index = { hashIndex: hashIndexProjection };
  /** the contracts' versions, with ComputationCompleted one on */
  const bumped = {
    versionOf: (type: string) =>
      type === 'ComputationCompleted' ? 2 : EventCatalog[type as EventType]?.schemaVersion,
  };

  it("uses the contracts' own versions by default", () => {
    expect(projectionsFingerprint(runs, '1', eventSchemas)).toBe(projectionsFingerprint(runs, '1'));
  });

  it('changes when an event type a projection handles gets a new schema version, not another', () => {
    expect(hashIndexProjection.handles).toContain('ComputationCompleted');
    expect(projectionsFingerprint(index, '1', bumped)).not.toBe(projectionsFingerprint(index, '1'));
    const onlyRequests = { r: { ...runProjection, handles: ['RunRequested'] as const } };
    expect(projectionsFingerprint(onlyRequests, '1', bumped)).toBe(
      projectionsFingerprint(onlyRequests, '1'),
    );
  });
});

describe('view diff', () => {
  const diff = (live: unknown, rebuilt: unknown, limit = 50) => {
    const out: ViewDifference[] = [];
    diffJson('v', live, rebuilt, out, limit);
    return out;
  };

  it('names each difference by its JSON Pointer, escaping "/" and "~" in keys', () => {
    expect(
      diff(
        { 'a/b': { 'x~y': 1 }, list: [1, 2, 3], same: { k: [null] } },
        { 'a/b': { 'x~y': 2 }, list: [1, 5], same: { k: [null] } },
      ),
    ).toEqual([
      { view: 'v', path: '/a~1b/x~0y', live: 1, rebuilt: 2 },
      { view: 'v', path: '/list/1', live: 2, rebuilt: 5 },
      { view: 'v', path: '/list/2', live: 3, rebuilt: undefined },
    ]);
  });

  it('reports a key present on one side only, and never looks into the prototype', () => {
    expect(diff({ toString: 1 }, {})).toEqual([
      { view: 'v', path: '/toString', live: 1, rebuilt: undefined },
    ]);
    expect(diff({}, { b: { c: 1 } })).toEqual([
      { view: 'v', path: '/b', live: undefined, rebuilt: { c: 1 } },
    ]);
  });

  it('stops at the limit', () => {
    const live = Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`k${i}`, i]));
    expect(diff(live, {}, 50)).toHaveLength(50);
  });
});

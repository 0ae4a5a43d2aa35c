import type { Checkpoint, CheckpointStore } from '@almanac/domain/projections';
import {
  CheckpointNotSerializableError,
  CheckpointStoreClosedError,
} from './checkpoint-store.errors';

export interface CheckpointStoreFixture {
  store: CheckpointStore;
  /** a second store over the same storage, as a restarted process would open it */
  reopen: () => Promise<CheckpointStore>;
  cleanup: () => Promise<void>;
}

type Saved = Omit<Checkpoint, 'savedAt'>;

/** A view of `megabytes` MB of JSON, with non-ASCII text (accents, emoji) throughout. */
function largeViews(megabytes: number, tag: string): Record<string, unknown> {
  const entries: Record<string, unknown> = {};
  const per = 'é'.repeat(40) + '😀'.repeat(20) + 'x'.repeat(100);
  const count = Math.ceil((megabytes * 1024 * 1024) / (per.length + 60));
  for (let i = 0; i < count; i++)
    entries[`${tag}|entity-${i}`] = { i, text: per, ok: i % 2 === 0, nested: [i, null, 'z'] };
  return { big: entries, tail: { tag, last: count - 1 } };
}

const bytesOf = (views: Record<string, unknown>) =>
  Buffer.byteLength(JSON.stringify(views), 'utf8');

/**
 * The behaviour every CheckpointStore adapter must have, as one Jest `describe` block, run
 * unchanged against each adapter. The factory is called once per test and must return an empty
 * store.
 */
export function checkpointStoreConformance(
  name: string,
  factory: () => Promise<CheckpointStoreFixture>,
): void {
  describe(`CheckpointStore conformance: ${name}`, () => {
    let fixture: CheckpointStoreFixture;
    let store: CheckpointStore;

    beforeEach(async () => {
      fixture = await factory();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    const small: Saved = {
      position: '0000000000000042',
      fingerprint: 'fp-1',
      views: {
        runs: { r1: { status: 'completed', passes: [['A', 'B']], durationMs: 12.5 } },
        // key order is part of "structurally identical"
        hashIndex: { 'B|2026-01-15': { valid: true }, 'A|2026-01-15': { valid: false } },
        decisions: {},
        unicode: { 'clé ü': 'naïve — 😀', empty: '', nul: null },
      },
    };

    it('given nothing saved, load returns null', async () => {
      expect(await store.load('api')).toBeNull();
    });

    it('given a save, when a restarted store loads it, then it is structurally identical', async () => {
      await store.save('api', small);
      const other = await fixture.reopen();
      try {
        const loaded = await other.load('api');
        expect(loaded).toEqual({ ...small, savedAt: expect.any(String) });
        expect(JSON.stringify(loaded!.views)).toBe(JSON.stringify(small.views));
        expect(Number.isNaN(Date.parse(loaded!.savedAt))).toBe(false);
      } finally {
        await other.close();
      }
    });

    it('keeps a null position (no event applied yet)', async () => {
      await store.save('api', { position: null, fingerprint: 'fp', views: { runs: {} } });
      expect(await store.load('api')).toMatchObject({ position: null, views: { runs: {} } });
    });

    it('round-trips a view larger than 3 MB exactly, then replaces it by a small one', async () => {
      const views = largeViews(3.5, 'a');
      expect(bytesOf(views)).toBeGreaterThan(3 * 1024 * 1024);
      await store.save('api', { position: 'p-big', fingerprint: 'fp', views });
      const loaded = await store.load('api');
      expect(loaded!.position).toBe('p-big');
      expect(JSON.stringify(loaded!.views)).toBe(JSON.stringify(views));

      await store.save('api', small);
      const replaced = await store.load('api');
      expect(JSON.stringify(replaced!.views)).toBe(JSON.stringify(small.views));
      expect(replaced!.position).toBe(small.position);
    });

    it('a save replaces the whole checkpoint: no view of the previous one remains', async () => {
      await store.save('api', small);
      await store.save('api', { position: 'p2', fingerprint: 'fp-2', views: { runs: {} } });
      expect(await store.load('api')).toEqual({
        position: 'p2',
        fingerprint: 'fp-2',
        views: { runs: {} },
        savedAt: expect.any(String),
      });
    });

    it('two concurrent saves of large checkpoints leave exactly one of them, never a mix', async () => {
      const a = largeViews(2.5, 'a');
      const b = largeViews(2.5, 'b');
      await Promise.all([
        store.save('api', { position: 'pa', fingerprint: 'fa', views: a }),
        store.save('api', { position: 'pb', fingerprint: 'fb', views: b }),
      ]);
      const loaded = await store.load('api');
      const text = JSON.stringify(loaded!.views);
      const winner = loaded!.position === 'pa' ? a : b;
      expect(loaded!.fingerprint).toBe(loaded!.position === 'pa' ? 'fa' : 'fb');
      expect(text).toBe(JSON.stringify(winner));
    });

    it('keeps groups apart; clear removes one group only and ignores an unknown one', async () => {
      await store.save('api', small);
      await store.save('status-page', { position: 'q', fingerprint: 'fq', views: { x: 1 } });
      await store.clear('api');
      await store.clear('never-saved');
      expect(await store.load('api')).toBeNull();
      expect(await store.load('status-page')).toMatchObject({ position: 'q', views: { x: 1 } });
    });

    it('refuses views JSON cannot hold and keeps the previous checkpoint', async () => {
      await store.save('api', small);
      const error = await store
        .save('api', { position: 'p9', fingerprint: 'fp', views: { runs: { n: 10n } } })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CheckpointNotSerializableError);
      expect((error as Error).message).toContain('"api"');
      expect((await store.load('api'))!.position).toBe(small.position);
    });

    it('refuses calls after close()', async () => {
      await store.close();
      await expect(store.load('api')).rejects.toBeInstanceOf(CheckpointStoreClosedError);
      await expect(store.save('api', small)).rejects.toBeInstanceOf(CheckpointStoreClosedError);
      await expect(store.clear('api')).rejects.toBeInstanceOf(CheckpointStoreClosedError);
    });
  });
}

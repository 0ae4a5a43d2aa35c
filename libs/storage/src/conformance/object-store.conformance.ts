import {
  InvalidObjectNameError,
  ObjectNotFoundError,
  type ObjectStore,
} from '../object-store.port';

/** A fresh, empty store, and how to dispose of it. */
type ObjectStoreFactory = () => Promise<{
  store: ObjectStore;
  dispose: () => Promise<void>;
}>;

/**
 * The ObjectStore contract, run unchanged against every adapter (a folder, and Cloud Storage on
 * its emulator). Uses jest globals; call it at the top level of a spec file.
 */
export function objectStoreConformance(name: string, factory: ObjectStoreFactory): void {
  describe(`ObjectStore conformance: ${name}`, () => {
    let store: ObjectStore;
    let dispose: () => Promise<void>;
    beforeEach(async () => {
      ({ store, dispose } = await factory());
    });
    afterEach(async () => {
      await dispose();
    });

    it('round-trips bytes and text, and a second put overwrites', async () => {
      const bytes = Buffer.from([0, 1, 2, 255]);
      await store.put('a/bytes.bin', bytes);
      await store.put('a/text.json', '{"é":1}', { contentType: 'application/json' });
      expect(await store.get('a/bytes.bin')).toEqual(bytes);
      expect((await store.get('a/text.json')).toString('utf8')).toBe('{"é":1}');
      await store.put('a/text.json', 'second');
      expect((await store.get('a/text.json')).toString()).toBe('second');
    });

    it('round-trips an object of several MiB', async () => {
      const big = Buffer.alloc(12 * 1024 * 1024, 7);
      big[big.length - 1] = 9;
      await store.put('big/one', big);
      expect((await store.get('big/one')).equals(big)).toBe(true);
    });

    it('lists the names under a prefix, sorted, and not those of other prefixes', async () => {
      await store.put('run-1/b', 'x');
      await store.put('run-1/a/deep', 'x');
      await store.put('run-10/c', 'x');
      await store.put('other', 'x');
      expect(await store.list('run-1/')).toEqual(['run-1/a/deep', 'run-1/b']);
      expect(await store.list('nothing/')).toEqual([]);
    });

    it('gets an absent object as ObjectNotFoundError naming it; deleting one is not an error', async () => {
      const missing = store.get('no/such');
      await expect(missing).rejects.toBeInstanceOf(ObjectNotFoundError);
      await expect(store.get('no/such')).rejects.toThrow(/no\/such/);
      await store.put('gone', 'x');
      await store.delete('gone');
      await store.delete('gone');
      await expect(store.get('gone')).rejects.toBeInstanceOf(ObjectNotFoundError);
      expect(await store.list('')).toEqual([]);
    });

    it('refuses names that could leave its prefix', async () => {
      for (const bad of ['', '/abs', 'a/../b', 'a//b', './a'])
        await expect(store.put(bad, 'x')).rejects.toBeInstanceOf(InvalidObjectNameError);
    });

    it('names where an object lives', () => {
      expect(store.uri('x/y')).toMatch(/x[\\/]y$/);
    });
  });
}

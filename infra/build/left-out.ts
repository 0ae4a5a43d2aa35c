// Packages the bundles leave out (build-bundle.ts).
import type { Plugin } from 'esbuild';

/**
 * Packages the deployed services import (through the libs' index files) but never call, left
 * out of the bundle and of its package.json. better-sqlite3 is the embedded profile's store and
 * has no prebuilt binary reachable here: installing it compiles SQLite for minutes. In a bundle
 * it is a module that throws when it is used.
 */
const LEFT_OUT: Record<string, string> = {
  'better-sqlite3':
    "SQLite is the embedded profile's store (the almanac CLI); the deployed services use Spanner",
};

export const leaveOut: Plugin = {
  name: 'almanac-leave-out',
  setup(b) {
    const names = Object.keys(LEFT_OUT).map((n) => n.replace(/[/.]/g, '\\$&'));
    b.onResolve({ filter: new RegExp(`^(${names.join('|')})$`) }, (args) => ({
      path: args.path,
      namespace: 'left-out',
    }));
    b.onLoad({ filter: /.*/, namespace: 'left-out' }, (args) => ({
      loader: 'js',
      contents: `module.exports = function leftOut() { throw new Error(${JSON.stringify(
        `${args.path} is not in this bundle: ${LEFT_OUT[args.path]}`,
      )}); };`,
    }));
  },
};

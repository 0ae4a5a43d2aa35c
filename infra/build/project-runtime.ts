// Injected first into every service bundle (build-bundle.ts). A deployed service loads the
// user's project at run time (almanac.config.ts and computations/, ADR 0003): TypeScript files
// that import '@almanac/kernel' and '@almanac/platform'. In the source tree tsx resolves those
// through the tsconfig paths; in a bundle there is no tsconfig and no lib sources, so the
// bundle hands its own copies to the project: one kernel, the one the engine checks against.
import Module from 'node:module';
import * as kernel from '@almanac/kernel';
import * as platform from '@almanac/platform';

// tsx types its CommonJS API for node16 resolution only; this repo resolves as node10
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { register } = require('tsx/cjs/api') as { register: () => void };

/** The modules a project may import at run time, served from the bundle. */
const SHARED_MODULES: Record<string, unknown> = {
  '@almanac/kernel': kernel,
  '@almanac/platform': platform,
};

interface ModuleInternals {
  _resolveFilename(request: string, ...rest: unknown[]): string;
  _cache: Record<string, Module>;
}

function shareWithProject(modules: Record<string, unknown>): void {
  const internals = Module as unknown as ModuleInternals;
  for (const [id, exports] of Object.entries(modules)) {
    const m = new Module(id);
    m.exports = exports;
    m.loaded = true;
    internals._cache[id] = m;
  }
  const resolve = internals._resolveFilename;
  internals._resolveFilename = function (request: string, ...rest: unknown[]) {
    return Object.hasOwn(modules, request) ? request : resolve.call(this, request, ...rest);
  };
}

// computations and almanac.config.ts are TypeScript (or ES modules): tsx compiles them on require
register();
shareWithProject(SHARED_MODULES);

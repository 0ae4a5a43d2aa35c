import { readdirSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import type { PlannedComputation } from '@almanac/contracts';
import {
  buildManifest,
  closestNames,
  CodeHashCache,
  computeCodeHash,
  isComputationClass,
  ManifestError,
  type ComputationClass,
  type Manifest,
} from '@almanac/kernel';
import type { ProjectConfig } from './project-config';

export interface LoadedProject {
  manifest: Manifest;
  /** name -> planned shape with its code hash (what RunPlanned carries) */
  planned: Map<string, PlannedComputation>;
}

/** Extensions of computation files: TypeScript, or JavaScript as CommonJS or ES module. */
const COMPUTATION_EXTENSIONS = ['.ts', '.js', '.mjs', '.cjs'];
/** Never computations: type declarations, tests, index files. */
const NOT_COMPUTATION = /(\.d\.ts|\.(spec|test)\.[cm]?[jt]s)$|^index\.[cm]?[jt]s$/;

/**
 * Computation files: the .ts, .js, .mjs and .cjs files at the top of the computations folder,
 * except declarations, tests (`*.spec.*`, `*.test.*`), index files and dotfiles.
 */
export function computationFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter(
      (d) =>
        d.isFile() &&
        !d.name.startsWith('.') &&
        COMPUTATION_EXTENSIONS.includes(extname(d.name)) &&
        !NOT_COMPUTATION.test(d.name),
    )
    .map((d) => join(dir, d.name))
    .sort();
}

/**
 * The computation classes a module exports, whatever its form: `module.exports = Class`, named
 * exports (CommonJS or ES module), `export default`. A class exported twice counts once.
 */
function exportedComputations(mod: unknown): ComputationClass[] {
  if (isComputationClass(mod)) return [mod];
  if (typeof mod !== 'object' || mod === null) return [];
  return [...new Set(Object.values(mod).filter(isComputationClass))];
}

/** Says what a module exports instead of a computation. */
function noComputationMessage(file: string, mod: unknown): string {
  const hint =
    "(a class with a static getConfig() and a process() method, usually extending Computation from '@almanac/kernel')";
  if (typeof mod === 'function')
    return `${file} exports the function ${mod.name || '(anonymous)'} but no Computation class ${hint}`;
  const names = typeof mod === 'object' && mod !== null ? Object.keys(mod) : [];
  if (names.length === 0) return `${file} exports nothing: no Computation class ${hint}`;
  return `${file} exports { ${names.join(', ')} } but no Computation class ${hint}`;
}

/** Loads every computation class, builds the manifest, checks tables, hashes the code. */
export async function loadProject(
  root: string,
  computationsDir: string,
  config: ProjectConfig,
  cache = new CodeHashCache(),
): Promise<LoadedProject> {
  const defs: Array<{ ctor: ComputationClass; file: string }> = [];
  for (const file of computationFiles(computationsDir)) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(file) as unknown;
    const classes = exportedComputations(mod);
    if (classes.length === 0) {
      const display = relative(root, file).split(sep).join('/');
      throw new ManifestError('invalid-config', noComputationMessage(display, mod), { file });
    }
    for (const ctor of classes) defs.push({ ctor, file });
  }
  const manifest = buildManifest(defs, {
    schedule: config.scheduler.schedule,
    dependencyGapMinutes: config.scheduler.dependencyGapMinutes,
  });
  const tables = Object.keys(config.tables);
  for (const entry of manifest.entries.values()) {
    for (const table of Object.keys(entry.config.requires)) {
      if (!config.tables[table]) {
        const hint = closestNames(table, tables);
        throw new ManifestError(
          'invalid-config',
          `computation "${entry.name}": requires table "${table}", which is not configured under "tables" in almanac.config.ts${hint.length ? ` (did you mean "${hint[0]}"?)` : ''}`,
          { computation: entry.name, table },
        );
      }
    }
  }
  const planned = new Map<string, PlannedComputation>();
  await Promise.all(
    [...manifest.entries.values()].map(async (e) => {
      const code = await computeCodeHash(e.file, root, cache);
      planned.set(e.name, {
        name: e.name,
        pass: e.pass,
        type: e.config.type,
        dependencies: [...e.config.dependencies].sort(),
        codeHash: code.hash,
        codeFiles: Object.fromEntries(code.files.map((f) => [f.path, f.hash])),
      });
    }),
  );
  return { manifest, planned };
}

import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
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

/** Computation files: the .ts files at the top of the computations folder (not specs, not index). */
export function computationFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter(
      (d) =>
        d.isFile() &&
        d.name.endsWith('.ts') &&
        !d.name.endsWith('.spec.ts') &&
        !d.name.endsWith('.d.ts') &&
        d.name !== 'index.ts',
    )
    .map((d) => join(dir, d.name))
    .sort();
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
    const mod = require(file) as Record<string, unknown>;
    const classes = Object.values(mod).filter(isComputationClass);
    if (classes.length === 0) {
      throw new ManifestError(
        'invalid-config',
        `${relative(root, file)}: exports no Computation class`,
        { file },
      );
    }
    for (const ctor of classes) defs.push({ ctor, file });
  }
  const manifest = buildManifest(defs);
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

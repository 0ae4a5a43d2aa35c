import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Database } from '@google-cloud/spanner';
import { MigrationChangedError, MigrationDirectoryError } from './spanner.errors';

/** infra/spanner of this repository (resolved from this file: valid when run from the sources) */
export const SPANNER_DDL_DIR = resolve(__dirname, '../../../../infra/spanner');

const MIGRATIONS_TABLE = 'SchemaMigrations';
const ALREADY_EXISTS = 6;
const MIGRATIONS_DDL = `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
  Name STRING(MAX) NOT NULL,
  Checksum STRING(64) NOT NULL,
  AppliedAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (Name)`;

export interface MigrationResult {
  /** files applied by this call, in order */
  applied: string[];
  /** files found already recorded in SchemaMigrations */
  alreadyApplied: string[];
}

/** The statements of a DDL file: `--` comments removed, split on `;`. */
export function splitDdl(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.replace(/--.*$/, ''))
    .join('\n')
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

const checksum = (text: string) => createHash('sha256').update(text).digest('hex');

async function ensureMigrationsTable(database: Database): Promise<void> {
  const [rows] = await database.run({
    sql: `SELECT COUNT(*) AS n FROM INFORMATION_SCHEMA.TABLES
          WHERE TABLE_SCHEMA = '' AND TABLE_NAME = @name`,
    params: { name: MIGRATIONS_TABLE },
    json: true,
  });
  if ((rows[0] as { n: number }).n > 0) return;
  // A schema change is a long-running operation even on an empty database: only when missing.
  const [op] = await database.updateSchema([MIGRATIONS_DDL]);
  await op.promise();
}

/**
 * Applies the `.sql` files of `dir` in name order (001-…, 002-…), each once: applied files are
 * recorded in SchemaMigrations with their checksum. Running it again applies only new files.
 * The DDL uses IF NOT EXISTS, so a file interrupted half-way (Spanner applies the statements of
 * one schema update one by one, not atomically) can be applied again.
 */
export async function migrateSpanner(database: Database, dir: string): Promise<MigrationResult> {
  if (!existsSync(dir)) throw new MigrationDirectoryError(dir, 'the folder does not exist');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  if (files.length === 0) throw new MigrationDirectoryError(dir, 'no .sql file found');

  await ensureMigrationsTable(database);
  const [rows] = await database.run({
    sql: `SELECT Name, Checksum FROM ${MIGRATIONS_TABLE}`,
    json: true,
  });
  const recorded = new Map(
    (rows as Array<{ Name: string; Checksum: string }>).map((r) => [r.Name, r.Checksum]),
  );

  const result: MigrationResult = { applied: [], alreadyApplied: [] };
  for (const file of files) {
    const text = readFileSync(join(dir, file), 'utf8');
    const sum = checksum(text);
    const previous = recorded.get(file);
    if (previous !== undefined) {
      if (previous !== sum) throw new MigrationChangedError(file, previous, sum);
      result.alreadyApplied.push(file);
      continue;
    }
    const statements = splitDdl(text);
    if (statements.length > 0) {
      const [op] = await database.updateSchema(statements);
      await op.promise();
    }
    try {
      await database.table(MIGRATIONS_TABLE).insert({
        Name: file,
        Checksum: sum,
        AppliedAt: 'spanner.commit_timestamp()',
      });
    } catch (e) {
      // another process applied and recorded the same file meanwhile (IF NOT EXISTS made ours a no-op)
      if ((e as { code?: number }).code !== ALREADY_EXISTS) throw e;
    }
    result.applied.push(file);
  }
  return result;
}

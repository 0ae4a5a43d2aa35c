import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spannerResultsDdl } from './results.ddl';

const normalise = (sql: string) =>
  sql
    .replace(/--.*$/gm, '')
    .replace(/IF NOT EXISTS /, '')
    .replace(/\s+/g, ' ')
    .replace(/;\s*$/, '')
    .trim();

describe('Spanner results DDL', () => {
  it('the deployed migration and the DDL the tests use define the same table', () => {
    const migration = readFileSync(
      join(__dirname, '../../../../infra/spanner/006-result-versions.sql'),
      'utf8',
    );
    expect(normalise(migration)).toBe(normalise(spannerResultsDdl()[0]));
  });
});

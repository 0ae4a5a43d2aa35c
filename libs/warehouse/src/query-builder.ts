import type { ColumnInfo, SchemaRegistry } from './warehouse.port';

/** A bound value: never interpolated into SQL. string[] is bound as one VARCHAR[] list. */
export type QueryParam = string | number | boolean | string[];

export interface BuiltQuery {
  sql: string;
  params: QueryParam[];
}

/**
 * How a `whereIn` list reaches DuckDB: one VARCHAR[] parameter unnested in a subquery (one SQL
 * text per table, so the prepared statement is reused) or one parameter per value.
 */
export type InListStrategy = 'unnest' | 'params';

type Condition =
  | { kind: 'eq'; column: string; value: QueryParam }
  | { kind: 'between'; column: string; from: QueryParam; to: QueryParam }
  | { kind: 'in'; column: string; values: string[]; strategy: InListStrategy }
  | { kind: 'date-between'; column: string; from: string; to: string }
  | { kind: 'date-lte'; column: string; asOf: string };

type Projection =
  | { kind: 'columns'; columns: string[] | '*' }
  | { kind: 'distinct-text'; column: string }
  | { kind: 'fingerprint' }
  | { kind: 'fingerprint-by-day'; dateField: string }
  | { kind: 'first-date'; column: string; dateField: string };

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

const TIMESTAMP_TYPE = /^TIMESTAMP/i;
const TEXT_TYPE = /^(VARCHAR|TEXT|STRING)/i;

/** A date expression comparable with 'YYYY-MM-DD' parameters, whatever the column's type. */
function dateExpr(column: ColumnInfo): string {
  const q = quoteIdent(column.name);
  if (TIMESTAMP_TYPE.test(column.type)) return `CAST(${q} AS DATE)`;
  // ISO strings sort as dates; a time part after the date must not push a row out of the window
  if (TEXT_TYPE.test(column.type)) return `left(${q}, 10)`;
  return q;
}

/** A text date param for a text column, a DATE param otherwise. */
function dateParam(column: ColumnInfo, placeholder: string): string {
  return TEXT_TYPE.test(column.type) ? placeholder : `CAST(${placeholder} AS DATE)`;
}

/**
 * Builds one SELECT on one table. `build()` checks the table and every column it names against
 * the schema registry before any data query can run, quotes identifiers, and binds every value.
 */
export class SelectBuilder {
  private projection: Projection = { kind: 'columns', columns: '*' };
  private readonly conditions: Condition[] = [];
  private readonly order: string[] = [];
  /** ordered on when the table has them, after `order` (never validated: they may be absent) */
  private readonly orderIfPresent: string[] = [];
  private orderByOthers = false;

  constructor(
    private readonly registry: SchemaRegistry,
    private readonly table: string,
  ) {}

  columns(columns: string[] | '*'): this {
    this.projection = { kind: 'columns', columns };
    return this;
  }

  /** SELECT DISTINCT the column cast to text (entity ids are strings everywhere else) */
  distinctText(column: string): this {
    this.projection = { kind: 'distinct-text', column };
    return this;
  }

  /** count(*) AS row_count, sum(hash(every column)::HUGEINT) AS digest: order-independent */
  fingerprint(): this {
    this.projection = { kind: 'fingerprint' };
    return this;
  }

  /** the fingerprint of each day (as YYYY-MM-DD text `day`) that has rows: one row per day */
  fingerprintByDay(dateField: string): this {
    this.projection = { kind: 'fingerprint-by-day', dateField };
    return this;
  }

  /** each distinct value of `column` (as text `id`) with its earliest date (YYYY-MM-DD text `first`) */
  firstDateOf(column: string, dateField: string): this {
    this.projection = { kind: 'first-date', column, dateField };
    return this;
  }

  whereEq(column: string, value: QueryParam): this {
    this.conditions.push({ kind: 'eq', column, value });
    return this;
  }

  whereBetween(column: string, from: QueryParam, to: QueryParam): this {
    this.conditions.push({ kind: 'between', column, from, to });
    return this;
  }

  /** the column's value, as text, is one of `values` */
  whereIn(column: string, values: string[], strategy: InListStrategy = 'unnest'): this {
    this.conditions.push({ kind: 'in', column, values, strategy });
    return this;
  }

  /** inclusive date window on a DATE, TIMESTAMP or ISO-text column */
  whereDateBetween(column: string, from: string, to: string): this {
    this.conditions.push({ kind: 'date-between', column, from, to });
    return this;
  }

  whereDateLte(column: string, asOf: string): this {
    this.conditions.push({ kind: 'date-lte', column, asOf });
    return this;
  }

  orderBy(column: string): this {
    this.order.push(column);
    return this;
  }

  /** Orders on `column` if the table has it, else ignores it (a setting a read need not use). */
  orderByIfPresent(column: string): this {
    this.orderIfPresent.push(column);
    return this;
  }

  /**
   * After the orderBy columns, every other column of the table in schema order: a total order
   * (rows that tie on every column are equal), so the rows come in the same order on every read.
   */
  thenByEveryOtherColumn(): this {
    this.orderByOthers = true;
    return this;
  }

  /** every column this query names, in order of appearance */
  referencedColumns(): string[] {
    const out: string[] = [];
    if (this.projection.kind === 'columns' && this.projection.columns !== '*')
      out.push(...this.projection.columns);
    if (this.projection.kind === 'distinct-text') out.push(this.projection.column);
    if (this.projection.kind === 'fingerprint-by-day') out.push(this.projection.dateField);
    if (this.projection.kind === 'first-date')
      out.push(this.projection.column, this.projection.dateField);
    for (const c of this.conditions) out.push(c.column);
    out.push(...this.order);
    return out;
  }

  async build(): Promise<BuiltQuery> {
    await this.registry.assertColumns(this.table, this.referencedColumns());
    const schema = await this.registry.getTable(this.table);
    const byName = new Map(schema.columns.map((c) => [c.name, c]));
    const col = (name: string): ColumnInfo => byName.get(name) as ColumnInfo;
    const params: QueryParam[] = [];
    const bind = (value: QueryParam): string => {
      params.push(value);
      return `$${params.length}`;
    };

    let selectList: string;
    const p = this.projection;
    if (p.kind === 'columns') {
      selectList = p.columns === '*' ? '*' : p.columns.map(quoteIdent).join(', ');
    } else if (p.kind === 'first-date') {
      selectList = `CAST(${quoteIdent(p.column)} AS VARCHAR) AS id, CAST(min(${dateExpr(col(p.dateField))}) AS VARCHAR) AS first`;
    } else if (p.kind === 'distinct-text') {
      selectList = `DISTINCT CAST(${quoteIdent(p.column)} AS VARCHAR) AS ${quoteIdent(p.column)}`;
    } else {
      const all = schema.columns.map((c) => quoteIdent(c.name)).join(', ');
      // coalesce: an empty window sums to NULL
      selectList = `count(*) AS row_count, coalesce(sum(hash(${all})::HUGEINT), 0) AS digest`;
      if (p.kind === 'fingerprint-by-day')
        selectList = `CAST(${dateExpr(col(p.dateField))} AS VARCHAR) AS day, ${selectList}`;
    }

    const where: string[] = [];
    for (const c of this.conditions) {
      const q = quoteIdent(c.column);
      switch (c.kind) {
        case 'eq':
          where.push(`${q} = ${bind(c.value)}`);
          break;
        case 'between':
          where.push(`${q} BETWEEN ${bind(c.from)} AND ${bind(c.to)}`);
          break;
        case 'in': {
          // compare as text: ids are strings to the engine whatever the column's type
          const lhs = TEXT_TYPE.test(col(c.column).type) ? q : `CAST(${q} AS VARCHAR)`;
          if (c.values.length === 0) where.push('FALSE');
          else if (c.strategy === 'unnest')
            where.push(`${lhs} IN (SELECT unnest(CAST(${bind(c.values)} AS VARCHAR[])))`);
          else where.push(`${lhs} IN (${c.values.map((v) => bind(v)).join(', ')})`);
          break;
        }
        case 'date-between': {
          const info = col(c.column);
          where.push(
            `${dateExpr(info)} BETWEEN ${dateParam(info, bind(c.from))} AND ${dateParam(info, bind(c.to))}`,
          );
          break;
        }
        case 'date-lte': {
          const info = col(c.column);
          where.push(`${dateExpr(info)} <= ${dateParam(info, bind(c.asOf))}`);
          break;
        }
        default: {
          const never: never = c;
          throw new Error(`unhandled condition ${JSON.stringify(never)}`);
        }
      }
    }

    let sql = `SELECT ${selectList} FROM ${quoteIdent(this.table)}`;
    if (where.length) sql += ` WHERE ${where.join(' AND ')}`;
    if (p.kind === 'fingerprint-by-day' || p.kind === 'first-date') sql += ' GROUP BY 1';
    const present = new Set(schema.columns.map((c) => c.name));
    const named = [
      ...this.order,
      ...this.orderIfPresent.filter((c) => present.has(c) && !this.order.includes(c)),
    ];
    const order = this.orderByOthers
      ? [...named, ...schema.columns.map((c) => c.name).filter((name) => !named.includes(name))]
      : named;
    if (order.length) {
      // after DISTINCT only the projected (text) expression may be ordered on
      sql += ` ORDER BY ${order.map((o) => (p.kind === 'distinct-text' && o === p.column ? '1' : quoteIdent(o))).join(', ')}`;
    }
    return { sql, params };
  }
}

export function select(registry: SchemaRegistry, table: string): SelectBuilder {
  return new SelectBuilder(registry, table);
}

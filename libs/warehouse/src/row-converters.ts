import {
  DuckDBArrayValue,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTypeId,
} from '@duckdb/node-api';
import type { DuckDBResultReader, DuckDBType, DuckDBValue } from '@duckdb/node-api';
import type { Row } from './warehouse.port';

type Converter = (value: DuckDBValue) => unknown;

const identity: Converter = (v) => v;
const bigintToJson: Converter = (v) => {
  const n = v as bigint;
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(n)
    : n.toString();
};
const decimalToNumber: Converter = (v) => (v as DuckDBDecimalValue).toDouble();
const dateToString: Converter = (v) => (v as DuckDBDateValue).toString();
const timestampToIso: Converter = (v) => {
  const ts = v as DuckDBTimestampValue | DuckDBTimestampTZValue;
  // infinite timestamps have no ISO form
  return ts.isFinite ? new Date(Number(ts.micros / 1000n)).toISOString() : ts.toString();
};
const toText: Converter = (v) => String(v);

/**
 * One converter per column, chosen once from the result's column types, so converting a row is
 * a plain function call per value (no per-value type sniffing).
 */
export function converterFor(type: DuckDBType): Converter {
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
    case DuckDBTypeId.VARCHAR:
      return identity;
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.BIGNUM:
      return bigintToJson;
    case DuckDBTypeId.DECIMAL:
      return decimalToNumber;
    case DuckDBTypeId.DATE:
      return dateToString;
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_TZ:
      return timestampToIso;
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
    case DuckDBTypeId.STRUCT:
    case DuckDBTypeId.MAP:
      return nestedToJson;
    default:
      // TIME, INTERVAL, UUID, ENUM, BLOB, other timestamp units: their text form
      return toText;
  }
}

/** nested values are rare in source tables: convert them recursively by value */
function nestedToJson(value: DuckDBValue): unknown {
  if (value === null) return null;
  if (typeof value === 'bigint') return bigintToJson(value);
  if (typeof value !== 'object') return value;
  if (value instanceof DuckDBDecimalValue) return decimalToNumber(value);
  if (value instanceof DuckDBDateValue) return dateToString(value);
  if (value instanceof DuckDBTimestampValue || value instanceof DuckDBTimestampTZValue)
    return timestampToIso(value);
  if (value instanceof DuckDBListValue || value instanceof DuckDBArrayValue)
    return value.items.map(nestedToJson);
  if (value instanceof DuckDBStructValue) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value.entries)) out[k] = nestedToJson(v);
    return out;
  }
  if (value instanceof DuckDBMapValue) {
    return value.entries.map((e) => ({ key: nestedToJson(e.key), value: nestedToJson(e.value) }));
  }
  return String(value);
}

/** Rows of a fully read result as plain JSON objects. */
export function readRows(reader: DuckDBResultReader): Row[] {
  const names = reader.columnNames();
  const converters = reader.columnTypes().map(converterFor);
  const columns = reader.getColumns();
  const rowCount = reader.currentRowCount;
  const width = names.length;
  const rows: Row[] = new Array(rowCount);
  for (let r = 0; r < rowCount; r++) {
    const row: Row = {};
    for (let c = 0; c < width; c++) {
      const v = columns[c][r];
      row[names[c]] = v === null ? null : converters[c](v);
    }
    rows[r] = row;
  }
  return rows;
}

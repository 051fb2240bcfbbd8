// The type of each PostgreSQL column's CSV cells (datapackage.json's Table Schema), from pg_type and,
// where the text form decides, from the value: values.ts writes NaN and ±Infinity as text, and a
// timestamp's infinity or BC year is no ISO 8601 datetime, so such a value is a "string" in its column.
import { binaryType, temporalType, type ColumnType } from '../../../values/column-types.ts';
import type { PgTypeRow } from './values.ts';

/** What a column's type says of its cells; `json` is decided by each value (an object, an array, or any). */
export type DeclaredType = ColumnType | 'json';

const BASE_TYPES: Record<string, DeclaredType> = {
  bool: 'boolean',
  int2: 'integer',
  int4: 'integer',
  int8: 'integer',
  oid: 'integer',
  numeric: 'number',
  float4: 'number',
  float8: 'number',
  bytea: 'binary',
  json: 'json',
  jsonb: 'json',
  timestamptz: 'datetime',
  timestamp: 'timestamp',
  date: 'date',
  time: 'time',
  uuid: 'uuid',
};

/** Each type's declared cell type, domains resolved to their base type; every array is an array. */
export function declaredTypes(types: PgTypeRow[]): Map<number, DeclaredType> {
  const byOid = new Map(types.map((t) => [t.oid, t]));
  const typeOf = (oid: number, depth = 0): DeclaredType => {
    const type = byOid.get(oid);
    if (!type || depth > 16) return 'string';
    if (type.typbasetype !== 0) return typeOf(type.typbasetype, depth + 1);
    // As in values.ts: int2vector and oidvector write themselves as "1 2 3", text.
    if (type.typname === 'int2vector' || type.typname === 'oidvector') return 'string';
    if (type.typcategory === 'A' && type.typelem !== 0) return 'array';
    return BASE_TYPES[type.typname] ?? 'string';
  };
  return new Map(types.map((t) => [t.oid, typeOf(t.oid)]));
}

const isRawJson = (JSON as { isRawJSON?: (value: unknown) => boolean }).isRawJSON ?? (() => false);

/** The cell type of one exported value (exportValue's result) of a column declared `declared`. */
export function valueType(declared: DeclaredType, value: unknown): ColumnType {
  if (value === null) return 'null';
  switch (declared) {
    case 'json':
      if (Array.isArray(value)) return 'array';
      return typeof value === 'object' && !isRawJson(value) ? 'object' : 'any';
    case 'integer':
    case 'number':
      // Table Schema's number has the token NaN; "Infinity" is not its INF, and "-Infinity" is guarded as a formula.
      return typeof value !== 'string' || value === 'NaN' ? declared : 'string';
    case 'datetime':
    case 'timestamp':
    case 'date':
    case 'time':
      return temporalType(declared, value as string);
    case 'binary':
      return binaryType(value as string);
    default:
      return declared;
  }
}

// Whether a CSV cell is a valid value of its Table Schema field, written from the v1 spec
// (specs.frictionlessdata.io/table-schema, "Types and formats") and not from our exporter, so a field
// typed wrongly fails here. Only what our archives use is known; any other type or format is a problem
// rather than a pass.

export interface TableField {
  name: string;
  type?: string;
  format?: string;
  trueValues?: string[];
  falseValues?: string[];
}

/** The spec's defaults for booleans. */
const TRUE_VALUES = ['true', 'True', 'TRUE', '1'];
const FALSE_VALUES = ['false', 'False', 'FALSE', '0'];

/** number: XML Schema decimal, an optional exponent ("an E followed by an optional + or - sign and digits"), or NaN, INF, -INF in any case. */
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const NUMBER_TOKENS = new Set(['nan', 'inf', '-inf']);
const INTEGER = /^[+-]?\d+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** XML Schema's date parts: a year of four digits (or more, without leading zeros), not 0000, and a day that exists. */
function validDate(year: string, month: string, day: string): boolean {
  if (year === '0000' || (year.length > 4 && year.startsWith('0'))) return false;
  const y = Number(year);
  const m = Number(month);
  const d = Number(day);
  if (m < 1 || m > 12 || d < 1) return false;
  const date = new Date(Date.UTC(2000, m - 1, d));
  date.setUTCFullYear(y);
  return date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

function validTime(hour: string, minute: string, second: string, zone: string | undefined): boolean {
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) return false;
  if (zone === undefined || zone === 'Z') return true;
  const [h, m] = zone.slice(1).split(':').map(Number) as [number, number];
  return h <= 14 && m <= 59;
}

const DATE = /^(-?\d{4,})-(\d\d)-(\d\d)$/;
const TIME = /^(\d\d):(\d\d):(\d\d)(?:\.\d+)?(Z|[+-]\d\d:\d\d)?$/;
/** datetime default: "date and time parts, followed by optional milliseconds and timezone parts". */
const DATETIME = /^(-?\d{4,})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d+)?(Z|[+-]\d\d:\d\d)?$/;
/** What our checker takes as format "any" for a datetime: the default form, or date and time separated by a space. */
const DATETIME_SPACED = /^(-?\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.\d+)?(Z|[+-]\d\d:\d\d)?$/;

function datetime(cell: string, pattern: RegExp): boolean {
  const match = pattern.exec(cell);
  if (!match) return false;
  const [, year = '', month = '', day = '', hour = '', minute = '', second = '', zone] = match;
  return validDate(year.replace(/^-/, ''), month, day) && validTime(hour, minute, second, zone);
}

function json(cell: string): unknown {
  try {
    return JSON.parse(cell) as unknown;
  } catch {
    return undefined;
  }
}

/** Why `cell` is no value of `field`, or undefined when it is one. Missing values are the caller's to skip. */
export function cellProblem(field: TableField, cell: string): string | undefined {
  const type = field.type ?? 'string';
  const format = field.format ?? 'default';
  const ok = ((): boolean | 'unknown' => {
    switch (type) {
      case 'any':
        return true;
      case 'string':
        if (format === 'default') return true;
        if (format === 'binary') return BASE64.test(cell);
        if (format === 'uuid') return UUID.test(cell);
        return 'unknown';
      case 'number':
        return format === 'default' ? NUMBER.test(cell) || NUMBER_TOKENS.has(cell.toLowerCase()) : 'unknown';
      case 'integer':
        return format === 'default' ? INTEGER.test(cell) : 'unknown';
      case 'boolean':
        return (field.trueValues ?? TRUE_VALUES).includes(cell) || (field.falseValues ?? FALSE_VALUES).includes(cell);
      case 'object': {
        const value = json(cell);
        return typeof value === 'object' && value !== null && !Array.isArray(value);
      }
      case 'array':
        return Array.isArray(json(cell));
      case 'date': {
        const match = DATE.exec(cell);
        return format === 'default' ? match !== null && validDate((match[1] ?? '').replace(/^-/, ''), match[2] ?? '', match[3] ?? '') : 'unknown';
      }
      case 'time': {
        const match = TIME.exec(cell);
        return format === 'default' ? match !== null && validTime(match[1] ?? '', match[2] ?? '', match[3] ?? '', match[4]) : 'unknown';
      }
      case 'datetime':
        if (format === 'default') return datetime(cell, DATETIME);
        if (format === 'any') return datetime(cell, DATETIME) || datetime(cell, DATETIME_SPACED);
        return 'unknown';
      default:
        return 'unknown';
    }
  })();
  if (ok === 'unknown') return `field "${field.name}": the checker does not know type "${type}" with format "${format}"`;
  return ok ? undefined : `field "${field.name}" (${type}${format === 'default' ? '' : `, ${format}`}): ${JSON.stringify(cell.slice(0, 80))} is not such a value`;
}

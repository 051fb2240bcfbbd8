// What the demo seed is generated from: DynamoDB wire-value shorthands, a fixed clock, one seeded PRNG
// per user and solid-colour PNGs, all deterministic so the demo data is the same on every machine.
import { crc32, deflateSync } from 'node:zlib';
import type { WireItem, WireValue } from '../lambdas/core/values/attribute-values.ts';

const BASE_TIME = Date.parse('2026-06-01T00:00:00.000Z');
const MINUTE = 60_000;

export const S = (text: string): WireValue => ({ S: text });
export const N = (value: number | string): WireValue => ({ N: String(value) });
export const BOOL = (value: boolean): WireValue => ({ BOOL: value });
export const M = (fields: WireItem): WireValue => ({ M: fields });
export const L = (...values: WireValue[]): WireValue => ({ L: values });
export const money = (amount: number): WireValue => N(amount.toFixed(2));

/** `items[index]`, for lists the code itself built, where a miss is a bug. */
export function at<T>(items: readonly T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new Error(`no item ${index} in a list of ${items.length}`);
  return item;
}

/** ISO time `minutes` before the fixed base time. */
export const ago = (minutes: number): string => new Date(BASE_TIME - Math.round(minutes * MINUTE)).toISOString();

/** mulberry32: a tiny 32-bit PRNG; good enough for demo data and identical on every platform. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface Random {
  float(min: number, max: number): number;
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  chars(alphabet: string, length: number): string;
}

/** One generator per user (seeded by the id), so adding a user never changes another user's data. */
export function randomFor(userId: string): Random {
  let hash = 0x811c9dc5; // FNV-1a of the id
  for (const ch of userId) hash = Math.imul(hash ^ (ch.codePointAt(0) ?? 0), 0x01000193);
  const next = mulberry32(hash);
  const random: Random = {
    float: (min, max) => min + next() * (max - min),
    int: (min, max) => Math.floor(random.float(min, max + 1)),
    pick: (items) => at(items, Math.floor(next() * items.length)),
    chars: (alphabet, length) => Array.from({ length }, () => random.pick([...alphabet])).join(''),
  };
  return random;
}

/** A real (valid) PNG of one solid colour, so demo attachments and avatars open in any viewer. */
export function solidPng(size: number, [r, g, b]: readonly [number, number, number]): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const framed = Buffer.alloc(body.length + 8);
    framed.writeUInt32BE(data.length, 0);
    body.copy(framed, 4);
    framed.writeUInt32BE(crc32(body), body.length + 4);
    return framed;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  const row = Buffer.from([0, ...Array.from({ length: size }, () => [r, g, b]).flat()]); // filter byte 0 + pixels
  const pixels = deflateSync(Buffer.concat(Array.from({ length: size }, () => row)));
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', header), chunk('IDAT', pixels), chunk('IEND', Buffer.alloc(0))]);
}

// The demo users, and what every builder of one user's records is handed: who the user is, their own
// generator, the cars they keep coming back to, a clock spaced per user, and where the records go.
import type { WireItem, WireValue } from '../lambdas/core/values/attribute-values.ts';
import { CITIES, vehicle, type Vehicle } from './demo-catalogue.ts';
import { ago, at, randomFor, S, type Random } from './demo-seed-generators.ts';
import type { Seed } from './seed.ts';

export const DEMO_USER_ID = 'u-1001';
export const DEMO_USERS = ['u-1001', 'u-1002', 'u-1003', 'u-10010', 'u-heavy'] as const;

export interface Person {
  id: string;
  name: string;
  email: string;
  phone: string;
  company?: string;
  home: (typeof CITIES)[number];
}

export const PEOPLE: readonly Person[] = [
  { id: 'u-1001', name: 'Ana Ruiz', email: 'ana.ruiz@example.com', phone: '+1-512-555-0148', company: 'Ruiz Landscaping LLC', home: CITIES[0] },
  { id: 'u-1002', name: 'Marcus Chen', email: 'marcus.chen@example.org', phone: '+1-303-555-0191', home: CITIES[1] },
  { id: 'u-1003', name: 'Priya Natarajan', email: 'priya.n@example.net', phone: '+1-206-555-0123', company: 'Cascade Robotics', home: CITIES[2] },
  // Same first name and an id that starts with "u-1001": the export of u-1001 must hold nothing of hers.
  { id: 'u-10010', name: 'Ana Ruiz-Lopez', email: 'ana.ruizlopez@example.com', phone: '+1-510-555-0177', home: CITIES[3] },
  { id: 'u-heavy', name: 'Dale Hoffman', email: 'dale.hoffman@example.com', phone: '+1-312-555-0110', company: 'Hoffman Fleet Services', home: CITIES[4] },
];

export type Tables = Record<string, WireItem[]>;

/** One user as the builders of their records see them. */
export interface UserSeedContext {
  person: Person;
  /** The demo user (u-1001), whose records carry the awkward values on top of the usual ones. */
  isDemo: boolean;
  userId: WireValue;
  random: Random;
  /** The user's `index`-th car, in turn of four: the cars their records keep coming back to. */
  car: (index: number) => Vehicle;
  /** A time `index` steps of `stepMinutes` (plus jitter) before the fixed base time. */
  spaced: (index: number, stepMinutes: number) => string;
  /** Appends items to a table of the seed. */
  add: (table: string, ...items: WireItem[]) => void;
  /** The seed's S3 objects, to push the user's files to. */
  objects: Seed['objects'];
}

export function userSeedContext(person: Person, tables: Tables, objects: Seed['objects']): UserSeedContext {
  const random = randomFor(person.id);
  const add = (table: string, ...items: WireItem[]): void => {
    (tables[table] ??= []).push(...items);
  };
  // Sort keys are times; spacing them by index keeps them unique per user while jitter keeps them real.
  const spaced = (index: number, stepMinutes: number): string => ago((index + 1) * stepMinutes + random.float(0, stepMinutes / 2));
  const garage = Array.from({ length: 4 }, () => vehicle(random));
  const car = (i: number): Vehicle => at(garage, i % garage.length);
  return { person, isDemo: person.id === DEMO_USER_ID, userId: S(person.id), random, car, spaced, add, objects };
}

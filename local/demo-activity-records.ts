// What the demo users' visits leave behind: usage events, search history, device sessions, coarse
// locations, client errors and response timings; u-heavy has enough usage events for several pages.
import type { WireItem } from '../lambdas/core/values/attribute-values.ts';
import { BROWSERS, CITIES, EVENT_TYPES, REFERRERS, vehicle } from './demo-catalogue.ts';
import { at, M, money, N, S } from './demo-seed-generators.ts';
import type { UserSeedContext } from './demo-users.ts';

/** Enough ~350-byte events for u-heavy that one Query page (1 MB) cannot hold them. */
export const HEAVY_USAGE_EVENTS = 6_000;

export function addActivityRecords({ person, isDemo, userId, random, car, spaced, add }: UserSeedContext): void {
  // Usage events: the table is keyed by eventId and read per user through the byUser index.
  const eventCount = person.id === 'u-heavy' ? HEAVY_USAGE_EVENTS : 24;
  const sessions = Array.from({ length: Math.max(3, Math.ceil(eventCount / 40)) }, (_, i) => `s-${person.id}-${String(i).padStart(5, '0')}`);
  add(
    'UsageEvents',
    ...Array.from({ length: eventCount }, (_, i): WireItem => {
      const v = i % 3 === 0 ? vehicle(random) : car(i); // mostly the cars the user keeps coming back to
      const type = random.pick(EVENT_TYPES);
      const slug = `${v.year}-${v.make}-${v.model}-${v.trim}`.toLowerCase().replaceAll(/[^a-z0-9]+/g, '-');
      const page = type === 'search' ? `/search?make=${encodeURIComponent(v.make)}&model=${encodeURIComponent(v.model)}&radius=50&sort=price_asc` : `/inventory/${slug}/${v.vin}`;
      return {
        eventId: S(`ev-${person.id}-${String(i).padStart(6, '0')}`),
        userId,
        occurredAt: S(spaced(i, 7)),
        type: S(type),
        page: S(page),
        pageTitle: S(
          type === 'search'
            ? `Used ${v.make} ${v.model} for sale near ${person.home.city}, ${person.home.region} | Cartropic`
            : `${v.year} ${v.make} ${v.model} ${v.trim} for sale in ${v.dealer.city} | Cartropic`,
        ),
        vin: S(v.vin),
        dealerId: S(v.dealer.id),
        listingPrice: money(v.listPrice),
        durationMs: N(random.int(200, 180_000)),
        referrer: S(random.pick(REFERRERS)),
        sessionId: S(random.pick(sessions)),
        appVersion: S('web-4.18.2'),
      };
    }),
  );

  add(
    'SearchQueries',
    ...[0, 1, 2].map((i): WireItem => {
      const v = car(i);
      return {
        userId,
        searchedAt: S(spaced(i, 60 * 11)),
        query: S(i === 2 && isDemo ? 'outback, "onyx" OR wilderness' : `${v.year} ${v.make} ${v.model}`),
        filters: M({ maxPrice: N(Math.ceil(v.listPrice / 5000) * 5000), postalPrefix: S(person.home.postalPrefix) }),
        resultCount: N(random.int(0, 420)),
      };
    }),
  );

  add(
    'DeviceSessions',
    ...[0, 1].map((i): WireItem => {
      const b = random.pick(BROWSERS);
      return {
        userId,
        sessionId: S(at(sessions, i)),
        browser: S(b.browser),
        browserVersion: S(b.version),
        os: S(b.os),
        deviceType: S(b.deviceType),
        ipAddress: S(i === 1 ? `2001:db8:${random.int(1, 0xfff).toString(16)}::${random.int(1, 0xfff).toString(16)}` : `203.0.113.${random.int(1, 254)}`),
        firstSeenAt: S(spaced(i * 2 + 1, 60 * 24 * 4)),
        lastSeenAt: S(spaced(i * 2, 60 * 24 * 4)),
      };
    }),
  );

  // Location is coarse by design: city, region, country and a postal prefix — nothing more precise.
  add(
    'CoarseLocations',
    ...[person.home, random.pick(CITIES)].map((place, i): WireItem => ({
      userId,
      observedAt: S(spaced(i, 60 * 24 * 6)),
      city: S(place.city),
      region: S(place.region),
      country: S('US'),
      postalPrefix: S(place.postalPrefix),
    })),
  );

  add(
    'ClientErrorLogs',
    {
      userId,
      loggedAt: S(spaced(0, 60 * 13)),
      level: S('error'),
      code: S('IMG_LOAD_FAILED'),
      message: S(`Failed to load listing photo 4 of 12 for ${car(0).vin}`),
      page: S(`/inventory/${car(0).vin}`),
      appVersion: S('web-4.18.2'),
    },
    {
      userId,
      loggedAt: S(spaced(1, 60 * 13)),
      level: S('warn'),
      code: S('UNCAUGHT_EXCEPTION'),
      message: S("TypeError: Cannot read properties of undefined (reading 'price')\n    at ListingCard (listing-card.tsx:88:17)"),
      page: S('/saved'),
      appVersion: S('web-4.18.1'),
    },
  );

  add(
    'ResponseTimings',
    ...[0, 1, 2].map((i): WireItem => {
      const endpoint = random.pick(['GET /api/search', 'GET /api/listings/{vin}', 'POST /api/messages', 'GET /api/saved']);
      return {
        userId,
        measuredAt: S(spaced(i, 60 * 3)),
        endpoint: S(endpoint),
        statusCode: N(random.pick([200, 200, 200, 304, 502])),
        durationMs: N(random.float(35, 2400).toFixed(3)),
        timeToFirstByteMs: N(random.float(10, 400).toFixed(1)),
        region: S('us-east-1'),
      };
    }),
  );
}

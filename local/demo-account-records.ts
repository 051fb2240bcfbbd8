// The demo users' account, payment and profile records (the Users, PaymentMethods and UserProfiles
// tables), with the secrets the data map must keep out and, on u-1001, every DynamoDB value type.
import type { WireItem } from '../lambdas/core/values/attribute-values.ts';
import { VIN_CHARS } from './demo-catalogue.ts';
import { ago, BOOL, L, M, money, N, S, solidPng } from './demo-seed-generators.ts';
import type { UserSeedContext } from './demo-users.ts';

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

export function addAccountRecords({ person, isDemo, userId, random, car, spaced, add }: UserSeedContext): void {
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
}

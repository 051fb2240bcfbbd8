// What the privacy policy (the marketplace's privacy policy) says about each data category. The data map may
// override any field per category; these are the defaults shown in the archive's index.html and email.

export const CATEGORIES = ['account', 'payment', 'profile', 'communication', 'usage', 'device', 'location', 'performance'] as const;

export type Category = (typeof CATEGORIES)[number];

export interface CategoryPolicy {
  title: string;
  /** What the category holds, in the policy's words. */
  holds: string;
  /** Why it is collected. */
  purpose: string;
  /** Who it may be shared with. */
  sharing: string;
  /** How long it is kept. */
  retention: string;
}

const SHARING =
  'Not sold, traded or rented. Shared only with service providers who help run the platform, when required by law, in a merger or acquisition, with your consent, or as aggregated statistics that do not identify you.';
const RETENTION =
  'Kept while your account is active and as long as needed to provide the service and meet legal obligations; deleted within 90 days of account closure unless the law requires longer.';

export const DEFAULT_CATEGORY_POLICIES: Record<Category, CategoryPolicy> = {
  account: {
    title: 'Account information',
    holds: 'Name, email address, phone number and company details you gave us.',
    purpose: 'To provide and maintain the service, send technical notices and security alerts, and give customer support.',
    sharing: SHARING,
    retention: RETENTION,
  },
  payment: {
    title: 'Payment information',
    holds: 'Billing address and payment method details. Payments are processed securely, so only masked details (card brand, last four digits, expiry) are stored and exported.',
    purpose: 'To process transactions and send related information such as receipts.',
    sharing: SHARING,
    retention: `${RETENTION} Financial records may be kept longer where accounting law requires it.`,
  },
  profile: {
    title: 'Profile data',
    holds: 'Preferences, settings and customisation choices, such as saved searches and saved vehicles.',
    purpose: 'To personalise the service and remember your choices.',
    sharing: SHARING,
    retention: RETENTION,
  },
  communication: {
    title: 'Communication data',
    holds: 'Messages, support tickets and feedback, including files attached to messages.',
    purpose: 'To respond to comments, questions and customer service requests, and to deliver messages between users.',
    sharing: SHARING,
    retention: RETENTION,
  },
  usage: {
    title: 'Usage data',
    holds: 'Features used, time spent, click patterns and search queries, collected automatically.',
    purpose: 'To analyse usage patterns, improve the service and develop new features.',
    sharing: SHARING,
    retention: RETENTION,
  },
  device: {
    title: 'Device information',
    holds: 'Browser type, operating system and IP address, collected automatically.',
    purpose: 'To keep the service secure and working on your devices.',
    sharing: SHARING,
    retention: RETENTION,
  },
  location: {
    title: 'Location data',
    holds: 'General geographic location (city or region level, never precise positions).',
    purpose: 'For service optimisation, such as showing nearby inventory.',
    sharing: SHARING,
    retention: RETENTION,
  },
  performance: {
    title: 'Performance data',
    holds: 'System performance, error logs and response times, collected automatically.',
    purpose: 'To detect and fix problems and keep the service fast.',
    sharing: SHARING,
    retention: RETENTION,
  },
};

export const PRIVACY_CONTACT = 'privacy@cartropic.com';
export const SUPPORT_CONTACT = 'support@cartropic.com';

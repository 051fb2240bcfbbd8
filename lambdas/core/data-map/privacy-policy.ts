// What the privacy policy (the marketplace's privacy policy) says about each data category, about the
// controller and about the user's rights. The data map may override any of it; where the policy is silent
// (the legal basis, recipients by name, automated decisions) the data map must speak (data-map.ts
// `answerProblems`), because an access request is answered with those facts (GDPR Art. 15(1)).

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
  /** Where it comes from (GDPR Art. 15(1)(g)): "provided by you", "collected automatically", "from Dealer partners". */
  origin: string[];
}

/** Who receives a category's data (Art. 15(1)(c)), and for a third country the Art. 46 safeguard. */
export interface Recipient {
  name: string;
  country?: string;
  safeguard?: string;
}

/** Everything an access request must be told of a category: the policy's words and the data map's. */
export interface CategoryFacts extends CategoryPolicy {
  /** The GDPR Art. 6 basis, in words ("performance of the contract with you"). */
  legalBasis: string;
  recipients: Recipient[];
  /** Automated decision-making, profiling and its logic (Art. 15(1)(h)), or "none". */
  automatedDecisions: string;
}

/** The facts of a category the data map must hold (after the policy's defaults), in the order the answer gives them. */
export const REQUIRED_CATEGORY_FIELDS = ['title', 'holds', 'purpose', 'legalBasis', 'recipients', 'origin', 'retention', 'automatedDecisions'] as const;

/** Who answers: the controller (Art. 13(1)(a)) and, where there is one, its data protection officer. */
export interface Controller {
  name: string;
  contact: string;
  address?: string;
  dpo?: string;
}

const SHARING =
  'Not sold, traded or rented. Shared only with service providers who help run the platform, when required by law, in a merger or acquisition, with your consent, or as aggregated statistics that do not identify you.';
/** The policy's two ways of collecting (section 1); data from third parties is the data map's to name. */
const PROVIDED = 'provided by you';
const AUTOMATIC = 'collected automatically';
const RETENTION =
  'Kept while your account is active and as long as needed to provide the service and meet legal obligations; deleted within 90 days of account closure unless the law requires longer.';

export const DEFAULT_CATEGORY_POLICIES: Record<Category, CategoryPolicy> = {
  account: {
    title: 'Account information',
    holds: 'Name, email address, phone number and company details you gave us.',
    purpose: 'To provide and maintain the service, send technical notices and security alerts, and give customer support.',
    sharing: SHARING,
    retention: RETENTION,
    origin: [PROVIDED],
  },
  payment: {
    title: 'Payment information',
    holds: 'Billing address and payment method details. Payments are processed securely, so only masked details (card brand, last four digits, expiry) are stored and exported.',
    purpose: 'To process transactions and send related information such as receipts.',
    sharing: SHARING,
    retention: `${RETENTION} Financial records may be kept longer where accounting law requires it.`,
    origin: [PROVIDED],
  },
  profile: {
    title: 'Profile data',
    holds: 'Preferences, settings and customisation choices, such as saved searches and saved vehicles.',
    purpose: 'To personalise the service and remember your choices.',
    sharing: SHARING,
    retention: RETENTION,
    origin: [PROVIDED],
  },
  communication: {
    title: 'Communication data',
    holds: 'Messages, support tickets and feedback, including files attached to messages.',
    purpose: 'To respond to comments, questions and customer service requests, and to deliver messages between users.',
    sharing: SHARING,
    retention: RETENTION,
    origin: [PROVIDED],
  },
  usage: {
    title: 'Usage data',
    holds: 'Features used, time spent, click patterns and search queries, collected automatically.',
    purpose: 'To analyse usage patterns, improve the service and develop new features.',
    sharing: SHARING,
    retention: RETENTION,
    origin: [AUTOMATIC],
  },
  device: {
    title: 'Device information',
    holds: 'Browser type, operating system and IP address, collected automatically.',
    purpose: 'To keep the service secure and working on your devices.',
    sharing: SHARING,
    retention: RETENTION,
    origin: [AUTOMATIC],
  },
  location: {
    title: 'Location data',
    holds: 'General geographic location (city or region level, never precise positions).',
    purpose: 'For service optimisation, such as showing nearby inventory.',
    sharing: SHARING,
    retention: RETENTION,
    origin: [AUTOMATIC],
  },
  performance: {
    title: 'Performance data',
    holds: 'System performance, error logs and response times, collected automatically.',
    purpose: 'To detect and fix problems and keep the service fast.',
    sharing: SHARING,
    retention: RETENTION,
    origin: [AUTOMATIC],
  },
};

export const PRIVACY_CONTACT = 'privacy@cartropic.com';
export const SUPPORT_CONTACT = 'support@cartropic.com';

/** The policy's "Contact us" (section 8). */
export const DEFAULT_CONTROLLER: Controller = { name: 'Cartropic', contact: PRIVACY_CONTACT, address: 'East Lansing, MI', dpo: `Privacy Officer, ${PRIVACY_CONTACT}` };

/** Art. 15(1)(e) in plain words, with the policy's own (section 5: access, correction, deletion, portability). */
export const DEFAULT_RIGHTS = [
  'You may ask for a copy of your personal data (this export) and receive it in a machine-readable format to take elsewhere.',
  'You may ask us to correct data that is inaccurate or incomplete.',
  'You may ask us to erase your data, unless the law requires us to keep it.',
  'You may ask us to restrict how we process your data while a question about it is settled.',
  'You may object to processing based on our legitimate interests, and to direct marketing at any time.',
  `Write to ${PRIVACY_CONTACT} to use any of these rights.`,
];

export const DEFAULT_COMPLAINT =
  'If you think we handle your data unlawfully, you may complain to a data protection supervisory authority, in particular in the country where you live, work or where the problem arose. You can also write to us first.';

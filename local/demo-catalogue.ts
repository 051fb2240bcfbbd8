// The marketplace's catalogue the demo users browse: car models, dealers, cities, browsers and the
// kinds of page event, and vehicle(), which makes one listed car (VIN, year, price, dealer) of them.
import { at, type Random } from './demo-seed-generators.ts';

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
export type Vehicle = (typeof MODELS)[number] & { vin: string; year: number; listPrice: number; dealer: Dealer };

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

export const CITIES = [
  { city: 'Austin', region: 'TX', postalPrefix: '787' },
  { city: 'Denver', region: 'CO', postalPrefix: '802' },
  { city: 'Seattle', region: 'WA', postalPrefix: '981' },
  { city: 'Oakland', region: 'CA', postalPrefix: '946' },
  { city: 'Chicago', region: 'IL', postalPrefix: '606' },
  { city: 'Phoenix', region: 'AZ', postalPrefix: '850' },
] as const;

export const BROWSERS = [
  { browser: 'Chrome', version: '137.0', os: 'Windows 11', deviceType: 'desktop' },
  { browser: 'Safari', version: '18.5', os: 'iOS 18.5', deviceType: 'mobile' },
  { browser: 'Firefox', version: '139.0', os: 'Ubuntu 24.04', deviceType: 'desktop' },
  { browser: 'Edge', version: '137.0', os: 'Windows 10', deviceType: 'desktop' },
  { browser: 'Chrome', version: '137.0', os: 'Android 15', deviceType: 'mobile' },
] as const;

export const REFERRERS = ['https://www.google.com/', 'https://www.bing.com/', 'https://www.facebook.com/', 'direct', 'https://mail.example.net/'];
export const EVENT_TYPES = ['vehicle_view', 'vehicle_view', 'search', 'click', 'click', 'dealer_contact', 'photo_gallery_open'] as const;

export const VIN_CHARS = 'ABCDEFGHJKLMNPRSTUVWXYZ0123456789'; // VINs never use I, O or Q

export function vehicle(random: Random): Vehicle {
  const base = random.pick(MODELS);
  const year = random.int(2018, 2025);
  // A used car loses roughly 8% a year; cents make prices non-integer numbers.
  const listPrice = Math.round(base.price * (1 - 0.08 * (2026 - year)) * random.float(0.93, 1.07) * 100) / 100;
  // Manufacturer (3) + descriptor (5) + check digit + model-year code (2010 = A, skipping I/O/Q) + plant + serial.
  const vin = `${base.wmi}${random.chars(VIN_CHARS, 5)}${random.chars('0123456789X', 1)}${at([...VIN_CHARS], year - 2010)}${random.chars(VIN_CHARS, 1)}${random.chars('0123456789', 6)}`;
  const dealer = random.pick(DEALERS.filter((d) => d.make === undefined || d.make === base.make));
  return { ...base, vin, year, listPrice, dealer };
}

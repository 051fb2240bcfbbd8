// The ZIP format's records, as APPNOTE describes them: local headers, data descriptors, central
// directory records and end records, with ZIP64 fields exactly where a value passes the classic limits
// and each entry's time as UTC (the extended-timestamp field, 0x5455) beside the DOS time.

export const UINT32_LIMIT = 0xffffffff;
export const UINT16_LIMIT = 0xffff;
export const FLAG_DATA_DESCRIPTOR = 1 << 3;
export const FLAG_UTF8 = 1 << 11;
export const VERSION_DEFLATE = 20;
export const VERSION_ZIP64 = 45;
/** Made by Unix (3), so readers apply the file mode in the external attributes. */
export const VERSION_MADE_BY = (3 << 8) | VERSION_ZIP64;
export const FILE_MODE = (0o100644 << 16) >>> 0;

export interface CentralRecord {
  name: string;
  /** Whether the entry was written as ZIP64 (local extra field, 8-byte descriptor): version needed 4.5 in both headers. */
  zip64: boolean;
  unixTime: number;
  /** Uncompressed bytes. */
  size: number;
  /** Bytes in the archive (compressed data only). */
  compressedSize: number;
  crc32: number;
  nameBytes: Buffer;
  dosTime: number;
  offset: number;
}

export const LOCAL_HEADER_BYTES = 30;
const CENTRAL_FIXED_BYTES = 46;
const ZIP64_EXTRA_BYTES = 28;
/** Extended timestamp (0x5455): flags (modification time only) and the time in seconds since 1970, UTC. */
const TIMESTAMP_EXTRA_BYTES = 9;
/** A local header's ZIP64 field: both sizes, zero here; the 8-byte data descriptor carries them. */
const LOCAL_ZIP64_EXTRA = Buffer.from([0x01, 0x00, 0x10, 0x00, ...Array<number>(16).fill(0)]);
/** The most extra-field bytes a local header carries. */
export const LOCAL_EXTRA_BYTES = TIMESTAMP_EXTRA_BYTES + LOCAL_ZIP64_EXTRA.length;

function timestampExtra(unixTime: number): Buffer {
  const extra = Buffer.alloc(TIMESTAMP_EXTRA_BYTES);
  extra.writeUInt16LE(0x5455, 0);
  extra.writeUInt16LE(5, 2);
  extra.writeUInt8(0x01, 4);
  extra.writeUInt32LE(unixTime, 5);
  return extra;
}
/** ZIP64 end record, its locator and the classic end record. */
export const END_RECORDS_BYTES = 56 + 20 + 22;
export const centralRecordBytes = (nameLength: number) => CENTRAL_FIXED_BYTES + ZIP64_EXTRA_BYTES + TIMESTAMP_EXTRA_BYTES + nameLength;

export function centralRecord(record: CentralRecord): Buffer {
  // ZIP64 fields only where a value does not fit; "version needed" as the local header said it.
  const zip64 = record.size >= UINT32_LIMIT || record.compressedSize >= UINT32_LIMIT || record.offset >= UINT32_LIMIT;
  const extraLength = (zip64 ? ZIP64_EXTRA_BYTES : 0) + TIMESTAMP_EXTRA_BYTES;
  const header = Buffer.alloc(CENTRAL_FIXED_BYTES + record.nameBytes.length + extraLength);
  header.writeUInt32LE(0x02014b50, 0);
  header.writeUInt16LE(VERSION_MADE_BY, 4);
  header.writeUInt16LE(record.zip64 ? VERSION_ZIP64 : VERSION_DEFLATE, 6);
  header.writeUInt16LE(FLAG_DATA_DESCRIPTOR | FLAG_UTF8, 8);
  header.writeUInt16LE(8, 10);
  header.writeUInt32LE(record.dosTime, 12);
  header.writeUInt32LE(record.crc32, 16);
  header.writeUInt32LE(zip64 ? UINT32_LIMIT : record.compressedSize, 20);
  header.writeUInt32LE(zip64 ? UINT32_LIMIT : record.size, 24);
  header.writeUInt16LE(record.nameBytes.length, 28);
  header.writeUInt16LE(extraLength, 30);
  // comment length, disk number, internal attributes: zero
  header.writeUInt32LE(FILE_MODE, 38);
  header.writeUInt32LE(zip64 ? UINT32_LIMIT : record.offset, 42);
  record.nameBytes.copy(header, CENTRAL_FIXED_BYTES);
  if (zip64) {
    const extra = CENTRAL_FIXED_BYTES + record.nameBytes.length;
    header.writeUInt16LE(0x0001, extra);
    header.writeUInt16LE(24, extra + 2);
    header.writeBigUInt64LE(BigInt(record.size), extra + 4);
    header.writeBigUInt64LE(BigInt(record.compressedSize), extra + 12);
    header.writeBigUInt64LE(BigInt(record.offset), extra + 20);
  }
  timestampExtra(record.unixTime).copy(header, CENTRAL_FIXED_BYTES + record.nameBytes.length + (zip64 ? ZIP64_EXTRA_BYTES : 0));
  return header;
}

/** MS-DOS date and time (2-second resolution), from the UTC fields so an archive is the same anywhere. */
export function toDosTime(date: Date): number {
  const year = Math.min(Math.max(date.getUTCFullYear(), 1980), 2107);
  const day = ((year - 1980) << 9) | ((date.getUTCMonth() + 1) << 5) | date.getUTCDate();
  const time = (date.getUTCHours() << 11) | (date.getUTCMinutes() << 5) | Math.floor(date.getUTCSeconds() / 2);
  return ((day << 16) | time) >>> 0;
}

/** An entry's local header, its name and its extra fields (UTC time; ZIP64 when the entry may pass 4 GiB). */
export function localHeader(entry: { zip64: boolean; dosTime: number; unixTime: number; nameBytes: Buffer }): Buffer[] {
  const extra = Buffer.concat([timestampExtra(entry.unixTime), ...(entry.zip64 ? [LOCAL_ZIP64_EXTRA] : [])]);
  const header = Buffer.alloc(LOCAL_HEADER_BYTES);
  header.writeUInt32LE(0x04034b50, 0);
  header.writeUInt16LE(entry.zip64 ? VERSION_ZIP64 : VERSION_DEFLATE, 4);
  header.writeUInt16LE(FLAG_DATA_DESCRIPTOR | FLAG_UTF8, 6);
  header.writeUInt16LE(8, 8);
  header.writeUInt32LE(entry.dosTime, 10);
  // crc-32 and sizes (14..25) stay zero (0xffffffff under ZIP64): the data descriptor carries them.
  if (entry.zip64) {
    header.writeUInt32LE(UINT32_LIMIT, 18);
    header.writeUInt32LE(UINT32_LIMIT, 22);
  }
  header.writeUInt16LE(entry.nameBytes.length, 26);
  header.writeUInt16LE(extra.length, 28);
  return [header, entry.nameBytes, extra];
}

/** The data descriptor after an entry's data: its CRC-32 and sizes, in 8 bytes each under ZIP64. */
export function dataDescriptor(entry: { zip64: boolean; crc32: number; size: number; compressedSize: number }): Buffer {
  const descriptor = Buffer.alloc(entry.zip64 ? 24 : 16);
  descriptor.writeUInt32LE(0x08074b50, 0);
  descriptor.writeUInt32LE(entry.crc32, 4);
  if (entry.zip64) {
    descriptor.writeBigUInt64LE(BigInt(entry.compressedSize), 8);
    descriptor.writeBigUInt64LE(BigInt(entry.size), 16);
  } else {
    descriptor.writeUInt32LE(entry.compressedSize, 8);
    descriptor.writeUInt32LE(entry.size, 12);
  }
  return descriptor;
}

/** The end of the archive: ZIP64's end record and locator when a count or offset needs them, then the classic end record. */
export function endRecords(directory: { start: number; length: number; count: number; offset: number }): Buffer[] {
  const { start, length, count } = directory;
  const records: Buffer[] = [];
  if (count >= UINT16_LIMIT || start >= UINT32_LIMIT || length >= UINT32_LIMIT) {
    const zip64End = Buffer.alloc(56);
    zip64End.writeUInt32LE(0x06064b50, 0);
    zip64End.writeBigUInt64LE(44n, 4);
    zip64End.writeUInt16LE(VERSION_MADE_BY, 12);
    zip64End.writeUInt16LE(VERSION_ZIP64, 14);
    zip64End.writeBigUInt64LE(BigInt(count), 24);
    zip64End.writeBigUInt64LE(BigInt(count), 32);
    zip64End.writeBigUInt64LE(BigInt(length), 40);
    zip64End.writeBigUInt64LE(BigInt(start), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(directory.offset), 8);
    locator.writeUInt32LE(1, 16);
    records.push(zip64End, locator);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Math.min(count, UINT16_LIMIT), 8);
  end.writeUInt16LE(Math.min(count, UINT16_LIMIT), 10);
  end.writeUInt32LE(Math.min(length, UINT32_LIMIT), 12);
  end.writeUInt32LE(Math.min(start, UINT32_LIMIT), 16);
  records.push(end);
  return records;
}

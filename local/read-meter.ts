// What DynamoDB consumed, measured on the emulator's side: a proxy in front of dynalite that asks it
// for the consumed capacity of every read (whether the caller asked or not), records it with the time
// the request arrived, and hands the caller the answer it asked for. What a collector says it consumed
// is never the measure: this is what the store itself counted, when it served the read.
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';

/** One read as the store served it. */
export interface MeteredRead {
  /** Epoch milliseconds the request reached the store. */
  at: number;
  table: string;
  operation: string;
  units: number;
}

/** The DynamoDB operations that consume read capacity, by their X-Amz-Target. */
const READS = new Set(['Query', 'Scan', 'GetItem']);

interface ConsumedCapacity {
  TableName?: string;
  CapacityUnits?: number;
}

export class ReadMeter {
  private constructor(
    private readonly server: Server,
    /** Where callers reach DynamoDB through the meter. */
    readonly endpoint: string,
    /** Every read, in the order the store answered. */
    readonly reads: MeteredRead[],
    /** Every request, reads and writes, counted by "<table> <operation>" (what DynamoDB bills by request). */
    readonly requests: Map<string, number>,
  ) {}

  /** Starts a meter in front of the DynamoDB endpoint `target`. */
  static async start(target: string): Promise<ReadMeter> {
    const upstream = new URL(target);
    const reads: MeteredRead[] = [];
    const requests = new Map<string, number>();
    const server = createServer((req, res) => {
      const at = Date.now();
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
        let body = Buffer.concat(chunks);
        let asked: unknown;
        const metered = READS.has(operation);
        const input = (body.length > 0 ? JSON.parse(body.toString('utf8')) : {}) as { TableName?: string; ReturnConsumedCapacity?: string };
        const key = `${input.TableName ?? ''} ${operation}`;
        requests.set(key, (requests.get(key) ?? 0) + 1);
        if (metered) {
          asked = input.ReturnConsumedCapacity;
          if (asked !== 'TOTAL' && asked !== 'INDEXES') input.ReturnConsumedCapacity = 'TOTAL';
          body = Buffer.from(JSON.stringify(input));
        }
        const headers: IncomingHttpHeaders = { ...req.headers, 'content-length': String(body.length), host: upstream.host };
        const forwarded = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (answer) => {
          const parts: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => parts.push(chunk));
          answer.on('end', () => {
            let out = Buffer.concat(parts);
            const outHeaders = { ...answer.headers };
            if (metered && answer.statusCode === 200) {
              const result = JSON.parse(out.toString('utf8')) as { ConsumedCapacity?: ConsumedCapacity };
              const consumed = result.ConsumedCapacity;
              reads.push({ at, table: consumed?.TableName ?? '', operation, units: consumed?.CapacityUnits ?? 0 });
              if (asked !== 'TOTAL' && asked !== 'INDEXES') {
                delete result.ConsumedCapacity;
                out = Buffer.from(JSON.stringify(result));
                outHeaders['x-amz-crc32'] = String(crc32(out));
              }
            }
            outHeaders['content-length'] = String(out.length);
            res.writeHead(answer.statusCode ?? 500, outHeaders);
            res.end(out);
          });
        });
        forwarded.on('error', (error) => {
          res.writeHead(502);
          res.end(String(error));
        });
        forwarded.end(body);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return new ReadMeter(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, reads, requests);
  }

  /** Read units the table consumed in all. */
  total(table: string): number {
    return this.reads.filter((r) => r.table === table).reduce((sum, r) => sum + r.units, 0);
  }

  /**
   * The most read units the table consumed within any `windowMs` (one second by default), by the time
   * each read reached the store, as a rate per second.
   */
  peakPerSecond(table: string, windowMs = 1000): number {
    const reads = this.reads.filter((r) => r.table === table).sort((a, b) => a.at - b.at);
    let peak = 0;
    let sum = 0;
    let first = 0;
    for (const read of reads) {
      sum += read.units;
      while (reads[first] && (reads[first] as MeteredRead).at <= read.at - windowMs) {
        sum -= (reads[first] as MeteredRead).units;
        first += 1;
      }
      peak = Math.max(peak, sum);
    }
    return (peak * 1000) / windowMs;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

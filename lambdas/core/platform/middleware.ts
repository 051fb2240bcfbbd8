// Middy middleware shared by the workflow handlers: validate the event with zod (a bad event is a
// named, permanent error listing the fields). Logging, metrics and tracing are observe()'s
// (observability.ts).
import type middy from '@middy/core';
import type { z } from 'zod';
import { InvalidRequestError } from './errors.ts';

export function parseEvent<S extends z.ZodType>(schema: S): middy.MiddlewareObj<unknown> {
  return {
    name: 'parseEvent',
    before: (request) => {
      const result = schema.safeParse(request.event);
      if (!result.success) {
        const fields = result.error.issues.map((i) => `${i.path.join('.') || '(event)'}: ${i.message}`).join('; ');
        throw new InvalidRequestError(`The step received a malformed event: ${fields}.`);
      }
      request.event = result.data;
    },
  };
}

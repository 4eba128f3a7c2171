/** Turns zod issues into the API's 400 details with field paths. */
import type { z } from 'zod';
import { type ErrorDetail, validationError } from '#shared/http/errors';

export function issuesToDetails(issues: readonly z.core.$ZodIssue[], prefix: string): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  for (const issue of issues) {
    const base = [prefix, ...issue.path.map(String)].filter((part) => part.length > 0).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        details.push({ path: [base, key].filter((part) => part.length > 0).join('.'), message: 'is not a writable field here' });
      }
    } else {
      details.push({ path: base, message: issue.message });
    }
  }
  return details;
}

export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, where: 'body' | 'query' | 'path'): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const label = where === 'body' ? 'The request body' : where === 'query' ? 'The query string' : 'The path';
  throw validationError(`${label} is not valid.`, issuesToDetails(result.error.issues, where === 'body' ? '' : where));
}

import type { Request } from 'express';
import { z } from 'zod';
import { problems, type FieldIssue } from './errors.ts';

type Part = 'body' | 'params' | 'query' | 'headers';

export function issuesOf(part: string, error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: [part, ...issue.path.map(String)].join('.'),
    message: issue.message,
    code: issue.code,
  }));
}

/**
 * Parses one part of a request with a zod schema; a mismatch becomes a 400 (or the given
 * status, e.g. 422 for well-formed but unacceptable input) listing every bad field.
 */
export function parse<S extends z.ZodType>(
  req: Request,
  part: Part,
  schema: S,
  status = 400,
): z.infer<S> {
  // Absent is empty; a body of JSON `null` is a value, and is refused as one.
  const input: unknown = req[part] === undefined ? {} : req[part];
  const result = schema.safeParse(input);
  if (!result.success) throw problems.validation(issuesOf(part, result.error), status);
  return result.data;
}

// What an action that takes no input is given: a body or query that names anything is refused,
// naming it, rather than ignored (ignored, a caller that meant to say which one, or how, would
// believe it had).
const Nothing = z.strictObject({});

/** For a route whose path says everything: refuses any query parameter and any body field. */
export function takesNothing(req: Request): void {
  // Most requests send neither, and a read route runs this on every request: no schema for them.
  if (!req.url.includes('?') && req.body === undefined) return;
  parse(req, 'query', Nothing);
  parse(req, 'body', Nothing);
}

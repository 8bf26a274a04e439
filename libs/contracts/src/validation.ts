import type { z } from 'zod';

/**
 * One precise line per problem, e.g. `confidence: must be at most 1` or `proposer.model.name: required`,
 * for 400 responses and dead-letter reasons.
 */
export function describeIssues(error: z.ZodError, max = 5): string {
  const lines = error.issues.slice(0, max).map((i) => {
    const path = i.path.length ? i.path.join('.') : '(root)';
    const msg = i.code === 'invalid_type' && /received undefined/.test(i.message) ? 'required' : i.message;
    return `${path}: ${msg}`;
  });
  if (error.issues.length > max) lines.push(`… and ${error.issues.length - max} more`);
  return lines.join('; ');
}

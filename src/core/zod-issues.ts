import type { z } from 'zod';

/** One line per problem: the path, what was found and what is allowed (config files and API bodies alike). */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
      const found = 'input' in issue && issue.input !== undefined ? ` (found ${preview(issue.input)})` : '';
      return `  - ${path}: ${issue.message}${found}`;
    })
    .join('\n');
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

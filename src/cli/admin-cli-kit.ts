import type { Command } from 'commander';
import type { z } from 'zod';

/**
 * What the admin command groups (keys, policies) get from admin-commands.ts, which registers them:
 * the connection options, the HTTP client and the output helpers. Handed in rather than imported, so
 * that a command file never imports the file that registers it.
 */

export interface AdminConnectionOptions {
  gateway?: string;
  url?: string;
  json?: boolean;
}

export interface AdminCliKit {
  connected(command: Command): Command;
  clientFor(options: AdminConnectionOptions): { call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<unknown> };
  run<Args extends unknown[]>(action: (...args: Args) => Promise<void>): (...args: Args) => Promise<void>;
  expect<T extends z.ZodType>(schema: T, value: unknown): z.output<T>;
  printJson(value: unknown): void;
  printTable(headers: readonly string[], rows: readonly (readonly string[])[]): void;
  printFields(fields: readonly (readonly [string, string | undefined])[]): void;
  collect(value: string, previous: string[] | undefined): string[];
  /** A YAML or JSON file's content; a file that cannot be read or parsed is a failure naming it. */
  readDocument(file: string): Promise<unknown>;
  /** A failure the user can act on: printed as `gatehouse: <message>`, exit status 1. */
  failure(message: string): Error;
}

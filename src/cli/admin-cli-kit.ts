import type { Command } from 'commander';
import type { z } from 'zod';

/**
 * What the admin command groups (keys, policies, audit, usage) get from admin-commands.ts, which registers them:
 * the connection options, the HTTP client and the output helpers. Handed in rather than imported, so
 * that a command file never imports the file that registers it.
 */

export interface AdminConnectionOptions {
  gateway?: string;
  url?: string;
  json?: boolean;
}

/** The admin API over HTTP: `GATEHOUSE_TOKEN` as the bearer token; a failure is an error the user can act on. */
export interface AdminHttpClient {
  /** The gateway's base URL. */
  readonly base: string;
  /** A JSON request; resolves to the parsed answer (undefined for none). `path` is under the API prefix, query included. */
  call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<unknown>;
  /** A GET to read as it arrives (JSON lines); `timeoutMs` (default 60 s) bounds only the wait for the answer to start. */
  open(path: string, timeoutMs?: number): Promise<Response>;
}

export interface AdminCliKit {
  connected(command: Command): Command;
  clientFor(options: AdminConnectionOptions): AdminHttpClient;
  run<Args extends unknown[]>(action: (...args: Args) => Promise<void>): (...args: Args) => Promise<void>;
  expect<T extends z.ZodType>(schema: T, value: unknown): z.output<T>;
  printJson(value: unknown): void;
  /** Aligned columns under a header line; `header: false` prints the rows alone (more rows of a table already started). */
  printTable(headers: readonly string[], rows: readonly (readonly string[])[], options?: { header?: boolean }): void;
  printFields(fields: readonly (readonly [string, string | undefined])[]): void;
  collect(value: string, previous: string[] | undefined): string[];
  /** A YAML or JSON file's content; a file that cannot be read or parsed is a failure naming it. */
  readDocument(file: string): Promise<unknown>;
  /** A failure the user can act on: printed as `gatehouse: <message>`, exit status 1. */
  failure(message: string): Error;
}

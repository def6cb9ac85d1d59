/**
 * A view is what one endpoint shows: `/mcp` shows every server with prefixed names, and
 * `/servers/<name>/mcp` shows one server with its names unchanged. Virtual servers (a later issue)
 * are views too.
 */
export interface View {
  readonly name: string;
  readonly servers: readonly string[];
  /** Whether names and URIs carry the server prefix. */
  readonly prefixed: boolean;
}

export const AGGREGATE_VIEW_NAME = '*';

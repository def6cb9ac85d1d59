// The resources both conformance fixtures serve, as data: the SDK v1 fixture
// (test/fixtures/conformance-server.ts) and the dual-era SDK v2 one (modern-fixture-server.ts).
// The two SDKs' McpServer and ResourceTemplate are different classes, so each fixture registers
// these with its own; what a scenario reads back is written once, here.
import { RED_PIXEL_PNG_BASE64 } from './fixture-media.js';

export type FixtureResourceContents =
  | { uri: string; mimeType: string; text: string }
  | { uri: string; mimeType: string; blob: string };

export interface FixtureResourceMetadata {
  readonly description: string;
  readonly mimeType: string;
}

export interface StaticFixtureResource {
  readonly name: string;
  readonly uri: string;
  readonly metadata: FixtureResourceMetadata;
  contents(uri: string): FixtureResourceContents;
}

/** Read by resources-read-text, resources-read-binary, resources-subscribe and resources-unsubscribe. */
export const STATIC_FIXTURE_RESOURCES: readonly StaticFixtureResource[] = [
  {
    name: 'static-text',
    uri: 'test://static-text',
    metadata: { description: 'A static text resource', mimeType: 'text/plain' },
    contents: (uri) => ({ uri, mimeType: 'text/plain', text: 'This is the content of the static text resource.' }),
  },
  {
    name: 'static-binary',
    uri: 'test://static-binary',
    metadata: { description: 'A static binary resource (a 1x1 PNG)', mimeType: 'image/png' },
    contents: (uri) => ({ uri, mimeType: 'image/png', blob: RED_PIXEL_PNG_BASE64 }),
  },
  {
    name: 'watched-resource',
    uri: 'test://watched-resource',
    metadata: { description: 'A resource clients subscribe to', mimeType: 'text/plain' },
    contents: (uri) => ({ uri, mimeType: 'text/plain', text: 'Watched resource content' }),
  },
];

export interface TemplateFixtureResource {
  readonly name: string;
  readonly uriTemplate: string;
  readonly metadata: FixtureResourceMetadata;
  contents(uri: string, id: string): FixtureResourceContents;
}

/** Read by resources-templates-read through `test://template/{id}/data`. */
export const TEMPLATE_FIXTURE_RESOURCE: TemplateFixtureResource = {
  name: 'template-data',
  uriTemplate: 'test://template/{id}/data',
  metadata: { description: 'Data for an id, read through a resource template', mimeType: 'application/json' },
  contents: (uri, id) => ({
    uri,
    mimeType: 'application/json',
    text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }),
  }),
};

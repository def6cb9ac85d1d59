import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DiscoverResultSchema } from '@modelcontextprotocol/core';
import { classifyInboundRequest } from '@modelcontextprotocol/server';
import {
  FIRST_MODERN_REVISION,
  MetaKey,
  SUPPORTED_REVISIONS,
  buildDiscoverRequest,
  buildDiscoverResult,
  buildRequestMeta,
  canReturnInputRequired,
  checkStandardHeaders,
  classifyInbound,
  classifyProbe,
  clientResponsesToRetryParams,
  decodeHeaderValue,
  encodeHeaderValue,
  eraOf,
  inputKeyFor,
  inputRequiredResult,
  inputRequiredToServerRequests,
  inputResponsesToServerResponses,
  isInputRequiredResult,
  isKnownRevision,
  missingCapabilities,
  preferredRevision,
  readDiscoverResult,
  readInputRequired,
  readRequestMeta,
  requiredCapabilitiesFor,
  resultTypeOf,
  serverRequestsToInputRequests,
  standardHeadersFor,
  toLegacyResult,
  toModernErrorCode,
  toModernResult,
  unsupportedProtocolVersion,
  withRequestMeta,
  withoutModernFields,
} from '../../src/protocol/eras/index.js';
import type { InboundMessage, JsonObject, LegacyClientContext, ServerToClientRequest } from '../../src/protocol/eras/index.js';

const envelope = (protocolVersion = '2026-07-28', clientCapabilities: JsonObject = {}): JsonObject => ({
  [MetaKey.protocolVersion]: protocolVersion,
  [MetaKey.clientInfo]: { name: 'test-client', version: '1.0.0' },
  [MetaKey.clientCapabilities]: clientCapabilities,
});

const formElicitation = {
  method: 'elicitation/create',
  params: { mode: 'form', message: 'Your name?', requestedSchema: { type: 'object', properties: { name: { type: 'string' } } } },
} as const;

describe('revisions', () => {
  it('lists the modern revision first, then the legacy ones newest first', () => {
    assert.deepEqual([...SUPPORTED_REVISIONS], ['2026-07-28', '2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05']);
  });

  it('puts 2026-07-28 and later in the modern era and earlier dates in the legacy era', () => {
    assert.equal(eraOf(FIRST_MODERN_REVISION), 'modern');
    assert.equal(eraOf('2027-01-15'), 'modern');
    assert.equal(eraOf('2025-11-25'), 'legacy');
    assert.equal(eraOf('2024-10-07'), 'legacy');
  });

  it('gives no era to values that are not revision identifiers', () => {
    assert.equal(eraOf('DRAFT-2026-v1'), undefined);
    assert.equal(eraOf(undefined), undefined);
    assert.equal(eraOf(20260728), undefined);
  });

  it('knows only the revisions it speaks', () => {
    assert.equal(isKnownRevision('2025-06-18'), true);
    assert.equal(isKnownRevision('2024-10-07'), false);
  });

  it('picks our most preferred revision among those the peer offers, optionally within one era', () => {
    assert.equal(preferredRevision(['2025-06-18', '2026-07-28']), '2026-07-28');
    assert.equal(preferredRevision(['2025-06-18', '2026-07-28'], 'legacy'), '2025-06-18');
    assert.equal(preferredRevision(['1900-01-01']), undefined);
  });
});

describe('readRequestMeta', () => {
  it('extracts protocol version, capabilities, client info and log level from a modern request', () => {
    const reading = readRequestMeta({ name: 'x', _meta: { ...envelope('2026-07-28', { sampling: {} }), [MetaKey.logLevel]: 'info', progressToken: 7 } });
    assert.deepEqual(reading, {
      kind: 'valid',
      meta: {
        protocolVersion: '2026-07-28',
        clientCapabilities: { sampling: {} },
        clientInfo: { name: 'test-client', version: '1.0.0' },
        logLevel: 'info',
      },
    });
  });

  it('accepts an envelope without clientInfo, which is only a SHOULD', () => {
    const reading = readRequestMeta({ _meta: { [MetaKey.protocolVersion]: '2026-07-28', [MetaKey.clientCapabilities]: {} } });
    assert.deepEqual(reading, { kind: 'valid', meta: { protocolVersion: '2026-07-28', clientCapabilities: {} } });
  });

  it('reports a request without a protocol-version claim as absent (legacy traffic)', () => {
    assert.deepEqual(readRequestMeta(undefined), { kind: 'absent' });
    assert.deepEqual(readRequestMeta({ _meta: { progressToken: 1 } }), { kind: 'absent' });
  });

  it('reports a claim with missing capabilities or malformed members as invalid, naming each key', () => {
    const reading = readRequestMeta({
      _meta: { [MetaKey.protocolVersion]: '2026-07-28', [MetaKey.clientInfo]: { name: 'x' }, [MetaKey.logLevel]: 'loud' },
    });
    assert.equal(reading.kind, 'invalid');
    assert.deepEqual(
      reading.kind === 'invalid' ? reading.issues.map((issue) => issue.key) : [],
      [MetaKey.clientCapabilities, MetaKey.clientInfo, MetaKey.logLevel],
    );
  });

  it('round-trips through buildRequestMeta and withRequestMeta, keeping other _meta keys', () => {
    const meta = { protocolVersion: '2026-07-28', clientCapabilities: { roots: {} } };
    const params = withRequestMeta({ name: 'echo', _meta: { progressToken: 'p1' } }, meta);
    assert.equal((params._meta as JsonObject).progressToken, 'p1');
    assert.deepEqual(readRequestMeta(params), { kind: 'valid', meta });
    assert.deepEqual(buildRequestMeta(meta), { [MetaKey.protocolVersion]: '2026-07-28', [MetaKey.clientCapabilities]: { roots: {} } });
  });

  it('strips the envelope and the retry fields before a request goes to a legacy upstream', () => {
    const params = { name: 'echo', inputResponses: { a: {} }, requestState: 's', _meta: { ...envelope(), progressToken: 3 } };
    assert.deepEqual(withoutModernFields(params), { name: 'echo', _meta: { progressToken: 3 } });
    assert.deepEqual(withoutModernFields({ name: 'echo', _meta: envelope() }), { name: 'echo' });
  });
});

describe('server/discover', () => {
  it('builds a result the SDK accepts, listing only modern revisions and dropping the tasks capability', () => {
    const result = buildDiscoverResult({
      supportedVersions: ['2026-07-28', '2025-11-25'],
      capabilities: { tools: { listChanged: true }, tasks: { list: {} } },
      instructions: 'One gateway.',
      serverInfo: { name: 'gatehouse', version: '0.1.0' },
    });
    assert.deepEqual(result, {
      resultType: 'complete',
      supportedVersions: ['2026-07-28'],
      capabilities: { tools: { listChanged: true } },
      instructions: 'One gateway.',
      ttlMs: 0,
      cacheScope: 'private',
      _meta: { [MetaKey.serverInfo]: { name: 'gatehouse', version: '0.1.0' } },
    });
    assert.equal(DiscoverResultSchema.safeParse(result).success, true);
  });

  it('sends the probe with the full per-request envelope', () => {
    const request = buildDiscoverRequest('probe-1', { protocolVersion: '2026-07-28', clientCapabilities: {} });
    assert.deepEqual(request, {
      jsonrpc: '2.0',
      id: 'probe-1',
      method: 'server/discover',
      params: { _meta: { [MetaKey.protocolVersion]: '2026-07-28', [MetaKey.clientCapabilities]: {} } },
    });
  });

  it('reads a discover result, tolerating missing cache fields, and rejects anything else', () => {
    const read = readDiscoverResult({ supportedVersions: ['2026-07-28'], capabilities: {}, _meta: { [MetaKey.serverInfo]: { name: 's', version: '1' } } });
    assert.deepEqual(read, { supportedVersions: ['2026-07-28'], capabilities: {}, serverInfo: { name: 's', version: '1' }, ttlMs: 0, cacheScope: 'private' });
    assert.equal(readDiscoverResult({ protocolVersion: '2025-11-25', capabilities: {} }), undefined);
  });
});

describe('classifyProbe (the gateway deciding an upstream era)', () => {
  const http = { transport: 'http', legacyFallback: true } as const;
  const stdio = { transport: 'stdio', legacyFallback: true } as const;

  it('goes modern on a discover result that offers a shared revision', () => {
    const verdict = classifyProbe({ kind: 'result', result: { supportedVersions: ['2026-07-28'], capabilities: {} } }, http);
    assert.equal(verdict.kind, 'modern');
    assert.equal(verdict.kind === 'modern' ? verdict.revision : undefined, '2026-07-28');
  });

  it('retries with a shared revision named by UnsupportedProtocolVersion', () => {
    const verdict = classifyProbe({ kind: 'rpc-error', code: -32022, data: { supported: ['2026-07-28'], requested: '2027-01-01' } }, http);
    assert.deepEqual(verdict, { kind: 'retry', revision: '2026-07-28' });
  });

  it('falls back to legacy on what legacy servers answer (observed from SDK v1 servers)', () => {
    // stdio server-memory: {"code":-32601,"message":"Method not found"}
    assert.deepEqual(classifyProbe({ kind: 'rpc-error', code: -32601 }, stdio), { kind: 'legacy' });
    // Streamable HTTP, stateful: 400 {"code":-32000,"message":"Bad Request: Server not initialized"}
    const body = JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'Bad Request: Server not initialized' }, id: null });
    assert.deepEqual(classifyProbe({ kind: 'http-error', status: 400, body }, http), { kind: 'legacy' });
    assert.deepEqual(classifyProbe({ kind: 'http-error', status: 404 }, http), { kind: 'legacy' });
  });

  it('treats silence as legacy on stdio but as a failure over HTTP', () => {
    assert.deepEqual(classifyProbe({ kind: 'timeout' }, stdio), { kind: 'legacy' });
    assert.equal(classifyProbe({ kind: 'timeout' }, http).kind, 'fail');
  });

  it('never falls back on authorization or server errors', () => {
    assert.equal(classifyProbe({ kind: 'http-error', status: 401 }, http).kind, 'fail');
    assert.equal(classifyProbe({ kind: 'http-error', status: 503 }, http).kind, 'fail');
  });

  it('fails instead of falling back when legacy fallback is off', () => {
    assert.equal(classifyProbe({ kind: 'rpc-error', code: -32601 }, { transport: 'stdio', legacyFallback: false }).kind, 'fail');
  });
});

describe('classifyInbound (a dual-era frontend)', () => {
  const modernHeaders = { protocolVersionHeader: '2026-07-28', methodHeader: 'tools/list' };
  const cases: { name: string; message: InboundMessage; expected: string }[] = [
    { name: 'a modern request', message: { httpMethod: 'POST', ...modernHeaders, body: { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: envelope() } } }, expected: 'modern' },
    { name: 'initialize', message: { httpMethod: 'POST', body: { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'c', version: '1' } } } }, expected: 'legacy' },
    { name: 'a claim-less request in a legacy session', message: { httpMethod: 'POST', protocolVersionHeader: '2025-11-25', body: { jsonrpc: '2.0', id: 2, method: 'tools/list' } }, expected: 'legacy' },
    { name: 'a GET for the standalone SSE stream', message: { httpMethod: 'GET', body: undefined }, expected: 'legacy' },
    { name: 'a legacy batch', message: { httpMethod: 'POST', body: [{ jsonrpc: '2.0', id: 1, method: 'tools/list' }] }, expected: 'legacy' },
    { name: 'a posted response', message: { httpMethod: 'POST', body: { jsonrpc: '2.0', id: 1, result: {} } }, expected: 'legacy' },
    { name: 'a version header that disagrees with the body', message: { httpMethod: 'POST', protocolVersionHeader: '2025-11-25', body: { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: envelope() } } }, expected: 'rejected:-32020' },
    { name: 'an Mcp-Method header that disagrees with the body', message: { httpMethod: 'POST', protocolVersionHeader: '2026-07-28', methodHeader: 'tools/call', body: { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: envelope() } } }, expected: 'rejected:-32020' },
    { name: 'a modern header without an envelope', message: { httpMethod: 'POST', ...modernHeaders, body: { jsonrpc: '2.0', id: 1, method: 'tools/list' } }, expected: 'rejected:-32602' },
    { name: 'a malformed envelope', message: { httpMethod: 'POST', ...modernHeaders, body: { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: { [MetaKey.protocolVersion]: '2026-07-28' } } } }, expected: 'rejected:-32602' },
    { name: 'initialize sent with a modern header', message: { httpMethod: 'POST', protocolVersionHeader: '2026-07-28', body: { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25' } } }, expected: 'rejected:-32020' },
    { name: 'a batch holding a modern request', message: { httpMethod: 'POST', body: [{ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: envelope() } }] }, expected: 'rejected:-32600' },
    { name: 'a legacy notification', message: { httpMethod: 'POST', body: { jsonrpc: '2.0', method: 'notifications/initialized' } }, expected: 'legacy' },
  ];

  for (const { name, message, expected } of cases) {
    it(`routes ${name} as ${expected}, as the SDK does`, () => {
      const ours = classifyInbound(message);
      const summary = ours.era === 'rejected' ? `rejected:${ours.rejection.error.code}` : ours.era;
      assert.equal(summary, expected);
      const sdk = classifyInboundRequest({
        httpMethod: message.httpMethod ?? 'POST',
        ...(message.protocolVersionHeader !== undefined && { protocolVersionHeader: message.protocolVersionHeader }),
        ...(message.methodHeader !== undefined && { mcpMethodHeader: message.methodHeader }),
        ...(message.body !== undefined && { body: message.body }),
      } as Parameters<typeof classifyInboundRequest>[0]) as { kind: string; code?: number };
      assert.equal(sdk.kind === 'reject' ? `rejected:${sdk.code}` : sdk.kind, expected);
    });
  }

  it('classifies stdio messages by body alone', () => {
    assert.deepEqual(classifyInbound({ body: { jsonrpc: '2.0', id: 1, method: 'server/discover', params: { _meta: envelope() } } }), {
      era: 'modern',
      kind: 'request',
      revision: '2026-07-28',
    });
    assert.deepEqual(classifyInbound({ body: { jsonrpc: '2.0', id: 1, method: 'tools/list' } }), { era: 'legacy', reason: 'no-claim' });
  });

  it('reports the claimed revision even when it is not one we serve, so the caller can answer -32022', () => {
    const era = classifyInbound({ body: { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: envelope('2099-01-01') } } });
    assert.deepEqual(era, { era: 'modern', kind: 'request', revision: '2099-01-01' });
  });

  it('lets a modern notification through with only its version claim', () => {
    const era = classifyInbound({ body: { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 3, _meta: { [MetaKey.protocolVersion]: '2026-07-28' } } } });
    assert.deepEqual(era, { era: 'modern', kind: 'notification', revision: '2026-07-28' });
  });

  it('gives a legacy request the version it asked for, for a -32022 answer that names what we serve', () => {
    const era = classifyInbound({ httpMethod: 'POST', body: { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18' } } });
    assert.deepEqual(era, { era: 'legacy', reason: 'initialize', requestedVersion: '2025-06-18' });
    const answer = unsupportedProtocolVersion(['2026-07-28'], '2025-06-18');
    assert.deepEqual(answer, {
      httpStatus: 400,
      error: { code: -32022, message: 'Unsupported protocol version 2025-06-18. Supported: 2026-07-28.', data: { supported: ['2026-07-28'], requested: '2025-06-18' } },
    });
  });
});

describe('standard request headers', () => {
  it('mirrors version, method and name for a tools/call', () => {
    assert.deepEqual(standardHeadersFor({ method: 'tools/call', params: { name: 'get_weather' } }, '2026-07-28'), {
      'MCP-Protocol-Version': '2026-07-28',
      'Mcp-Method': 'tools/call',
      'Mcp-Name': 'get_weather',
    });
    assert.deepEqual(standardHeadersFor({ method: 'tools/list' }, '2026-07-28'), { 'MCP-Protocol-Version': '2026-07-28', 'Mcp-Method': 'tools/list' });
  });

  it('Base64-encodes values that are not plain header text, as in the spec table', () => {
    assert.equal(encodeHeaderValue('us-west1'), 'us-west1');
    assert.equal(encodeHeaderValue('Hello, 世界'), '=?base64?SGVsbG8sIOS4lueVjA==?=');
    assert.equal(encodeHeaderValue(' padded '), '=?base64?IHBhZGRlZCA=?=');
    assert.equal(encodeHeaderValue('line1\nline2'), '=?base64?bGluZTEKbGluZTI=?=');
    assert.equal(encodeHeaderValue('=?base64?literal?='), '=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=');
    assert.equal(decodeHeaderValue('=?base64?SGVsbG8sIOS4lueVjA==?='), 'Hello, 世界');
    assert.equal(decodeHeaderValue('=?base64?not*base64?='), undefined);
  });

  it('rejects a missing or disagreeing header with -32020', () => {
    const request = { method: 'resources/read', params: { uri: 'file:///a b' } };
    assert.equal(checkStandardHeaders(request, '2026-07-28', { protocolVersion: '2026-07-28', method: 'resources/read', name: encodeHeaderValue('file:///a b') }), undefined);
    assert.equal(checkStandardHeaders(request, '2026-07-28', { protocolVersion: '2026-07-28', method: 'resources/read' })?.error.code, -32020);
    assert.equal(checkStandardHeaders(request, '2026-07-28', { method: 'resources/read' })?.error.code, -32020);
    assert.equal(checkStandardHeaders(request, '2026-07-28', { protocolVersion: '2026-07-28', method: 'resources/read', name: 'file:///other' })?.httpStatus, 400);
  });
});

describe('input_required results', () => {
  it('recognises the discriminator and treats a result without resultType as complete', () => {
    assert.equal(isInputRequiredResult({ resultType: 'input_required', requestState: 's' }), true);
    assert.equal(isInputRequiredResult({ content: [] }), false);
    assert.equal(resultTypeOf({ content: [] }), 'complete');
    assert.equal(resultTypeOf({ resultType: 'input_required' }), 'input_required');
  });

  it('only allows input_required on tools/call, prompts/get and resources/read', () => {
    assert.deepEqual(['tools/call', 'prompts/get', 'resources/read', 'tools/list'].map(canReturnInputRequired), [true, true, true, false]);
  });

  it('requires inputRequests or requestState, and only the three embedded kinds', () => {
    assert.equal(readInputRequired({ resultType: 'input_required' }).ok, false);
    assert.equal(readInputRequired({ resultType: 'input_required', inputRequests: {} }).ok, false);
    assert.equal(readInputRequired({ resultType: 'input_required', inputRequests: { a: { method: 'ping' } } }).ok, false);
    assert.deepEqual(readInputRequired({ resultType: 'input_required', requestState: 'shed' }), { ok: true, inputRequests: {}, requestState: 'shed' });
    assert.deepEqual(inputRequiredResult({}, 'shed'), { resultType: 'input_required', requestState: 'shed' });
  });

  it('derives the capability each input request needs, mode by mode', () => {
    assert.deepEqual(requiredCapabilitiesFor(formElicitation), { elicitation: { form: {} } });
    assert.deepEqual(requiredCapabilitiesFor({ method: 'elicitation/create', params: { mode: 'url' } }), { elicitation: { url: {} } });
    assert.deepEqual(requiredCapabilitiesFor({ method: 'sampling/createMessage', params: { tools: [] } }), { sampling: { tools: {} } });
    assert.deepEqual(requiredCapabilitiesFor({ method: 'roots/list' }), { roots: {} });
  });

  it('counts a bare elicitation declaration as form mode but not URL mode', () => {
    assert.equal(missingCapabilities({ elicitation: { form: {} } }, { elicitation: {} }), undefined);
    assert.deepEqual(missingCapabilities({ elicitation: { url: {} } }, { elicitation: {} }), { elicitation: { url: {} } });
    assert.deepEqual(missingCapabilities({ sampling: {} }, undefined), { sampling: {} });
  });
});

describe('bridge (a): modern client, legacy upstream', () => {
  const upstreamRequests: ServerToClientRequest[] = [
    { jsonrpc: '2.0', id: 4, method: 'sampling/createMessage', params: { messages: [], maxTokens: 10, _meta: { progressToken: 9 } } },
    { jsonrpc: '2.0', id: 'e1', method: 'elicitation/create', params: { mode: 'url', message: 'Sign in', url: 'https://x.test', elicitationId: 'abc' } },
    { jsonrpc: '2.0', id: 5, method: 'ping' },
    { jsonrpc: '2.0', id: 6, method: 'roots/list' },
  ];

  it('turns the upstream requests into input requests the client declared, and answers the rest upstream', () => {
    const translation = serverRequestsToInputRequests(upstreamRequests, { sampling: {}, elicitation: { url: {} } });
    assert.deepEqual(translation.inputRequests, {
      'n:4': { method: 'sampling/createMessage', params: { messages: [], maxTokens: 10 } },
      's:e1': { method: 'elicitation/create', params: { mode: 'url', message: 'Sign in', url: 'https://x.test' } },
    });
    assert.deepEqual(translation.answers, [
      { jsonrpc: '2.0', id: 5, result: {} },
      { jsonrpc: '2.0', id: 6, error: { code: -32601, message: "Method not found: roots/list (the client did not declare the capability roots/list needs)." } },
    ]);
    assert.deepEqual(translation.missingCapabilities, { roots: {} });
    assert.deepEqual(inputRequiredResult(translation.inputRequests, 'sealed'), {
      resultType: 'input_required',
      inputRequests: translation.inputRequests,
      requestState: 'sealed',
    });
  });

  it('keeps number and string ids apart in the keys', () => {
    assert.notEqual(inputKeyFor(1), inputKeyFor('1'));
  });

  it("turns the client's retry into responses to the pending upstream requests", () => {
    const pending = upstreamRequests.slice(0, 2);
    const translation = inputResponsesToServerResponses(pending, {
      'n:4': { role: 'assistant', content: [{ type: 'text', text: 'hi' }], model: 'm', resultType: 'complete' },
      'unknown-key': { action: 'cancel' },
    });
    assert.deepEqual(translation.responses, [{ jsonrpc: '2.0', id: 4, result: { role: 'assistant', content: { type: 'text', text: 'hi' }, model: 'm' } }]);
    assert.deepEqual(translation.unanswered, [pending[1]]);
    assert.deepEqual(translation.invalidKeys, []);
  });

  it('refuses wrapped responses and multi-block sampling answers a legacy upstream cannot take', () => {
    const pending = upstreamRequests.slice(0, 2);
    const translation = inputResponsesToServerResponses(pending, {
      'n:4': { role: 'assistant', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }], model: 'm' },
      's:e1': { method: 'elicitation/create', result: { action: 'accept' } },
    });
    assert.deepEqual(translation.invalidKeys, ['n:4', 's:e1']);
  });
});

describe('bridge (b): legacy client, modern upstream', () => {
  const context = (revision: string, clientCapabilities: JsonObject | undefined): LegacyClientContext => ({
    revision,
    clientCapabilities,
    requestIdFor: (key) => `gh-${key}`,
  });
  const upstreamResult = {
    resultType: 'input_required',
    inputRequests: {
      name: formElicitation,
      login: { method: 'elicitation/create', params: { mode: 'url', message: 'Sign in', url: 'https://x.test' } },
    },
    requestState: 'opaque-1',
  };

  it('turns input requests into server-to-client requests, adding elicitationId for 2025-11-25', () => {
    const translation = inputRequiredToServerRequests(upstreamResult, context('2025-11-25', { elicitation: { form: {}, url: {} } }));
    assert.deepEqual(translation, {
      ok: true,
      requests: [
        { key: 'name', request: { jsonrpc: '2.0', id: 'gh-name', ...formElicitation } },
        {
          key: 'login',
          request: { jsonrpc: '2.0', id: 'gh-login', method: 'elicitation/create', params: { mode: 'url', message: 'Sign in', url: 'https://x.test', elicitationId: 'gh-login' } },
        },
      ],
      refused: [],
      requestState: 'opaque-1',
    });
  });

  it('refuses what the client revision or capabilities cannot take, and drops mode for pre-2025-11-25 forms', () => {
    const translation = inputRequiredToServerRequests(upstreamResult, context('2025-06-18', { elicitation: {} }));
    assert.equal(translation.ok, true);
    if (!translation.ok) return;
    assert.deepEqual(translation.requests, [
      { key: 'name', request: { jsonrpc: '2.0', id: 'gh-name', method: 'elicitation/create', params: { message: 'Your name?', requestedSchema: formElicitation.params.requestedSchema } } },
    ]);
    assert.deepEqual(translation.refused.map((r) => r.key), ['login']);
  });

  it('refuses everything when the legacy client has no session to receive requests', () => {
    const translation = inputRequiredToServerRequests(upstreamResult, context('2025-11-25', undefined));
    assert.equal(translation.ok && translation.requests.length, 0);
  });

  it('passes a load-shedding result with only requestState through as an empty round', () => {
    assert.deepEqual(inputRequiredToServerRequests({ resultType: 'input_required', requestState: 'later' }, context('2025-11-25', {})), {
      ok: true,
      requests: [],
      refused: [],
      requestState: 'later',
    });
  });

  it("builds the retry params from the client's answers, echoing requestState exactly", () => {
    const sent = [
      { key: 'name', request: { jsonrpc: '2.0', id: 'gh-name', method: 'elicitation/create' } as const },
      { key: 'login', request: { jsonrpc: '2.0', id: 'gh-login', method: 'elicitation/create' } as const },
      { key: 'roots', request: { jsonrpc: '2.0', id: 'gh-roots', method: 'roots/list' } as const },
    ];
    const translation = clientResponsesToRetryParams(
      { name: 'deploy', arguments: { env: 'prod' } },
      sent,
      [
        { jsonrpc: '2.0', id: 'gh-name', result: { action: 'decline', content: null } },
        { jsonrpc: '2.0', id: 'gh-login', error: { code: -1, message: 'User rejected' } },
      ],
      'opaque-1',
    );
    assert.deepEqual(translation, {
      params: { name: 'deploy', arguments: { env: 'prod' }, inputResponses: { name: { action: 'decline' } }, requestState: 'opaque-1' },
      failed: [{ key: 'login', error: { code: -1, message: 'User rejected' } }],
      missing: ['roots'],
    });
  });

  it('leaves requestState out of the retry when the server sent none', () => {
    const { params } = clientResponsesToRetryParams({ name: 'x', requestState: 'stale' }, [], [], undefined);
    assert.deepEqual(params, { name: 'x', inputResponses: {} });
  });
});

describe('result shapes across eras', () => {
  it('makes a legacy tools/list result valid for a modern client', () => {
    const shaped = toModernResult('tools/list', { tools: [{ name: 't', inputSchema: { type: 'object' }, execution: { taskSupport: 'optional' } }] }, {
      serverInfo: { name: 'gatehouse', version: '0.1.0' },
    });
    assert.deepEqual(shaped, {
      tools: [{ name: 't', inputSchema: { type: 'object' } }],
      resultType: 'complete',
      ttlMs: 0,
      cacheScope: 'private',
      _meta: { [MetaKey.serverInfo]: { name: 'gatehouse', version: '0.1.0' } },
    });
  });

  it('stamps only resultType on a non-cacheable result and keeps an upstream resultType', () => {
    assert.deepEqual(toModernResult('tools/call', { content: [] }), { content: [], resultType: 'complete' });
    assert.deepEqual(toModernResult('tools/call', { resultType: 'input_required', requestState: 's' }), { resultType: 'input_required', requestState: 's' });
  });

  it('removes resultType for a legacy client and maps the retired resource-not-found code', () => {
    assert.deepEqual(toLegacyResult({ content: [], resultType: 'complete', ttlMs: 5 }), { content: [], ttlMs: 5 });
    assert.equal(toModernErrorCode(-32002), -32602);
    assert.equal(toModernErrorCode(-32601), -32601);
  });
});

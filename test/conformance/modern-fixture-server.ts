/**
 * The server definition of the dual-era conformance fixture (test/fixtures/conformance-server-modern.ts):
 * every tool, resource and prompt the 2026-07-28 server scenarios of
 * `@modelcontextprotocol/conformance@0.2.0-alpha.12` call, plus the legacy-era ones, written once
 * with the SDK v2 `McpServer`. docs/conformance.md lists which scenario calls what.
 *
 * Tools that need something from the client are written the 2026-07-28 way: they return an
 * `input_required` result (SEP-2322, "multi-round-trip requests") and read the answers from the
 * retry's `inputResponses`. On a legacy session the SDK's shim turns those into real
 * `sampling/createMessage`, `elicitation/create` and `roots/list` requests, so the legacy
 * scenarios (tools-call-sampling, tools-call-elicitation, …) pass against the same handlers.
 */
import { randomBytes } from 'node:crypto';
import {
  McpServer,
  ResourceTemplate,
  completable,
  createRequestStateCodec,
  fromJsonSchema,
  inputRequired,
  inputResponse,
  type CallToolResult,
  type ClientCapabilities,
  type ElicitRequestFormParams,
  type InputRequest,
  type InputRequiredResult,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import { RED_PIXEL_PNG_BASE64, SILENT_WAV_BASE64 } from './fixture-media.js';
import { STATIC_FIXTURE_RESOURCES, TEMPLATE_FIXTURE_RESOURCE } from './fixture-resources.js';

/** What a list-changed trigger tool asks the serving edge to announce. */
export type ListChangedKind = 'tools' | 'prompts';

export interface ModernFixtureOptions {
  /**
   * Announces a list change to every open `subscriptions/listen` stream (modern) and session
   * (legacy). The serving edge owns the streams, so it supplies this; `server` is the instance
   * whose handler ran, which is what a stdio connection needs.
   */
  readonly announceListChanged: (kind: ListChangedKind, server: McpServer) => void;
}

/** The payload sealed into `requestState`: which tool minted it and what it has collected so far. */
interface FlowState {
  readonly tool: string;
  readonly round: number;
  readonly name?: string;
}

/** SEP-1613 + SEP-2106: the schema the json-schema-2020-12 scenario expects to come back verbatim. */
const JSON_SCHEMA_2020_12 = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  $defs: {
    address: {
      $anchor: 'addressDef',
      type: 'object',
      properties: { street: { type: 'string' }, city: { type: 'string' } },
    },
  },
  properties: {
    name: { type: 'string' },
    address: { $ref: '#/$defs/address' },
    contactMethod: { type: 'string', enum: ['phone', 'email'] },
    phone: { type: 'string' },
    email: { type: 'string' },
  },
  allOf: [{ anyOf: [{ required: ['phone'] }, { required: ['email'] }] }],
  if: { properties: { contactMethod: { const: 'phone' } }, required: ['contactMethod'] },
  then: { required: ['phone'] },
  else: { required: ['email'] },
  additionalProperties: false,
} as const;

/**
 * SEP-2243: arguments whose schema carries `x-mcp-header` are mirrored into `Mcp-Param-*` headers,
 * and the SDK's HTTP entry checks each header against the body before dispatch.
 */
const CUSTOM_HEADERS_SCHEMA = {
  type: 'object',
  properties: {
    region: { type: 'string', description: 'Mirrored as Mcp-Param-Region', 'x-mcp-header': 'Region' },
    priority: { type: 'integer', description: 'Mirrored as Mcp-Param-Priority', 'x-mcp-header': 'Priority' },
    verbose: { type: 'boolean', description: 'Mirrored as Mcp-Param-Verbose', 'x-mcp-header': 'Verbose' },
    query: { type: 'string', description: 'Not mirrored' },
  },
  required: ['region', 'priority', 'query'],
} as const;

type FormSchema = ElicitRequestFormParams['requestedSchema'];
const NAME_SCHEMA: FormSchema = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] };
const CONFIRM_SCHEMA: FormSchema = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] };

/**
 * Signs `requestState` (HMAC-SHA256) so a tampered or forged state is refused with -32602 before
 * any handler runs (SEP-2322 server requirement 4; scenario input-required-result-tampered-state).
 * One key per process: every round of a flow reaches this process.
 */
const requestStateCodec = createRequestStateCodec<FlowState>({
  key: randomBytes(32),
  ttlSeconds: 600,
  // The state is only good for the method that minted it.
  bind: (ctx) => ctx.mcpReq.method,
});

/** Tools whose handler reads `(args, ctx)` take no arguments but still declare an input schema. */
const NO_ARGUMENTS = z.object({});

const text = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }] });
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The client capabilities this request declared: the envelope on 2026-07-28, none known otherwise. */
function declaredCapabilities(ctx: ServerContext): ClientCapabilities | undefined {
  // The SDK types the lifted envelope loosely; the dispatcher has already validated its keys.
  const envelope: Record<string, unknown> | undefined = ctx.mcpReq.envelope;
  const capabilities = envelope?.['io.modelcontextprotocol/clientCapabilities'];
  return typeof capabilities === 'object' && capabilities !== null ? (capabilities as ClientCapabilities) : undefined;
}

function acceptedString(ctx: ServerContext, key: string, field: string): string | undefined {
  const view = inputResponse(ctx.mcpReq.inputResponses, key);
  if (view.kind !== 'elicit' || view.action !== 'accept') return undefined;
  const value = view.content?.[field];
  return typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number' ? String(value) : undefined;
}

function samplingText(ctx: ServerContext, key: string): string | undefined {
  const view = inputResponse(ctx.mcpReq.inputResponses, key);
  if (view.kind !== 'sampling') return undefined;
  const blocks = Array.isArray(view.result.content) ? view.result.content : [view.result.content];
  const first = blocks[0];
  return first?.type === 'text' ? first.text : '';
}

function rootUris(ctx: ServerContext, key: string): string[] | undefined {
  const view = inputResponse(ctx.mcpReq.inputResponses, key);
  return view.kind === 'roots' ? view.roots.map((root) => root.uri) : undefined;
}

/** Asks again for whatever is still missing; answered keys are not asked twice (mrtr §Error Handling). */
function askFor(requests: Record<string, InputRequest>, requestState?: string): InputRequiredResult {
  return inputRequired(requestState === undefined ? { inputRequests: requests } : { inputRequests: requests, requestState });
}

function registerContentTools(server: McpServer): void {
  server.registerTool('test_simple_text', { description: 'Returns one text block' }, () =>
    text('This is a simple text response for testing.'),
  );
  server.registerTool('test_image_content', { description: 'Returns one image block (a 1x1 PNG)' }, () => ({
    content: [{ type: 'image', data: RED_PIXEL_PNG_BASE64, mimeType: 'image/png' }],
  }));
  server.registerTool('test_audio_content', { description: 'Returns one audio block (a silent WAV)' }, () => ({
    content: [{ type: 'audio', data: SILENT_WAV_BASE64, mimeType: 'audio/wav' }],
  }));
  server.registerTool('test_embedded_resource', { description: 'Returns one embedded text resource' }, () => ({
    content: [
      {
        type: 'resource',
        resource: { uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'This is an embedded resource content.' },
      },
    ],
  }));
  server.registerTool('test_multiple_content_types', { description: 'Returns text, image and resource blocks' }, () => ({
    content: [
      { type: 'text', text: 'Multiple content types test:' },
      { type: 'image', data: RED_PIXEL_PNG_BASE64, mimeType: 'image/png' },
      {
        type: 'resource',
        resource: { uri: 'test://mixed-content-resource', mimeType: 'application/json', text: '{"test":"data","value":123}' },
      },
    ],
  }));
  server.registerTool('test_error_handling', { description: 'Fails: an isError result, not a JSON-RPC error' }, () => ({
    isError: true,
    content: [{ type: 'text', text: 'This tool intentionally returns an error for testing' }],
  }));
  server.registerTool(
    'json_schema_2020_12_tool',
    { description: 'Tool with JSON Schema 2020-12 features', inputSchema: fromJsonSchema(JSON_SCHEMA_2020_12) },
    () => text('json_schema_2020_12_tool called'),
  );
  server.registerTool(
    'test_custom_headers',
    { description: 'Arguments mirrored into Mcp-Param-* headers (SEP-2243)', inputSchema: fromJsonSchema(CUSTOM_HEADERS_SCHEMA) },
    (args) => text(`custom headers matched: ${JSON.stringify(args)}`),
  );
}

function registerNotifyingTools(server: McpServer, options: ModernFixtureOptions): void {
  server.registerTool(
    'test_tool_with_progress',
    { description: 'Reports progress 0, 50, 100 of 100, 50 ms apart, when given a progress token', inputSchema: z.object({}) },
    async (_args, ctx) => {
      const progressToken = ctx.mcpReq._meta?.progressToken;
      for (const progress of [0, 50, 100]) {
        if (progressToken !== undefined) {
          await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken, progress, total: 100 } });
        }
        if (progress < 100) await sleep(50);
      }
      return text(`progress reported for token ${String(progressToken)}`);
    },
  );
  // Spec 2026-07-28 (changelog major 5): log messages flow only for a request whose envelope
  // carries a logLevel; on a legacy session logging/setLevel decides. ctx.mcpReq.log applies both.
  const logThreeTimes = async (ctx: ServerContext, pauseMs: number): Promise<CallToolResult> => {
    for (const message of ['Tool execution started', 'Tool processing data', 'Tool execution completed']) {
      await ctx.mcpReq.log('info', message, 'conformance-fixture');
      if (pauseMs > 0) await sleep(pauseMs);
    }
    return text('Tool with logging executed successfully');
  };
  server.registerTool(
    'test_tool_with_logging',
    { description: 'Logs three info messages, 50 ms apart', inputSchema: NO_ARGUMENTS },
    (_args, ctx) => logThreeTimes(ctx, 50),
  );
  // server-stateless reads this call's stream for only 500 ms, so it answers without pausing.
  server.registerTool(
    'test_logging_tool',
    { description: 'Logs three info messages if the request opted in', inputSchema: NO_ARGUMENTS },
    (_args, ctx) => logThreeTimes(ctx, 0),
  );
  for (const kind of ['tools', 'prompts'] as const) {
    const singular = kind === 'tools' ? 'tool' : 'prompt';
    server.registerTool(
      `test_trigger_${singular}_change`,
      { description: `Announces notifications/${kind}/list_changed`, inputSchema: NO_ARGUMENTS },
      () => {
        options.announceListChanged(kind, server);
        return text(`${kind}/list_changed announced`);
      },
    );
  }
  server.registerTool(
    'test_reconnection',
    { description: 'Closes its SSE stream mid-call on a legacy session (SEP-1699), then answers', inputSchema: NO_ARGUMENTS },
    async (_args, ctx) => {
      ctx.http?.closeSSE?.();
      await sleep(100);
      return text('Reconnection test completed successfully.');
    },
  );
}

function registerInputRequiredTools(server: McpServer): void {
  const askName = inputRequired.elicit({ message: 'What is your name?', requestedSchema: NAME_SCHEMA });
  const askCapital = inputRequired.createMessage({
    messages: [{ role: 'user', content: { type: 'text', text: 'What is the capital of France?' } }],
    maxTokens: 100,
  });
  const askRoots = inputRequired.listRoots();
  const askConfirm = inputRequired.elicit({ message: 'Please confirm', requestedSchema: CONFIRM_SCHEMA });

  const greetByName = (ctx: ServerContext): CallToolResult | InputRequiredResult => {
    const name = acceptedString(ctx, 'user_name', 'name');
    return name === undefined ? askFor({ user_name: askName }) : text(`Hello, ${name}!`);
  };
  const askTheModel = (ctx: ServerContext): CallToolResult | InputRequiredResult => {
    const answer = samplingText(ctx, 'capital_question');
    return answer === undefined ? askFor({ capital_question: askCapital }) : text(`The model said: ${answer}`);
  };
  server.registerTool('test_input_required_result_elicitation', { description: 'Asks the user for a name, then greets' }, greetByName);
  // Not a conformance tool: the gateway's timeout must still hold for a call retried after input.
  server.registerTool('gatehouse_input_then_stall', { description: 'Asks for a name, then does not answer the retry for two minutes' }, async (ctx) => {
    if (acceptedString(ctx, 'user_name', 'name') === undefined) return askFor({ user_name: askName });
    await new Promise((resolve) => setTimeout(resolve, 120_000).unref());
    return text('too late');
  });
  server.registerTool('test_input_required_result_sampling', { description: 'Asks the client LLM a question' }, askTheModel);
  server.registerTool('test_input_required_result_list_roots', { description: 'Asks the client for its roots' }, (ctx) => {
    const roots = rootUris(ctx, 'client_roots');
    return roots === undefined ? askFor({ client_roots: askRoots }) : text(`Client roots: ${roots.join(', ') || '(none)'}`);
  });

  // The stateful flows keep their progress in a signed requestState (verified by the codec hook
  // before the handler runs), never in server memory: any retry may reach any instance.
  const confirmFlow = (tool: string) => async (ctx: ServerContext) => {
    const state = ctx.mcpReq.requestState<FlowState>();
    if (state?.tool === tool && acceptedString(ctx, 'confirm', 'ok') !== undefined) return text(`${tool}: confirmed`);
    return askFor({ confirm: askConfirm }, await requestStateCodec.mint({ tool, round: 1 }, ctx));
  };
  for (const tool of ['test_input_required_result_request_state', 'test_input_required_result_tampered_state']) {
    server.registerTool(tool, { description: 'Asks for a confirmation, carrying a signed requestState' }, confirmFlow(tool));
  }

  const multipleInputs = 'test_input_required_result_multiple_inputs';
  server.registerTool(multipleInputs, { description: 'Asks for a name, a sampled greeting and the roots at once' }, async (ctx) => {
    const tool = multipleInputs;
    const name = acceptedString(ctx, 'user_name', 'name');
    const greeting = samplingText(ctx, 'greeting');
    const roots = rootUris(ctx, 'client_roots');
    if (name !== undefined && greeting !== undefined && roots !== undefined) {
      return text(`${greeting} ${name}; roots: ${roots.join(', ') || '(none)'}`);
    }
    const missing: Record<string, InputRequest> = {};
    if (name === undefined) missing['user_name'] = askName;
    if (greeting === undefined) {
      missing['greeting'] = inputRequired.createMessage({
        messages: [{ role: 'user', content: { type: 'text', text: 'Generate a greeting' } }],
        maxTokens: 50,
      });
    }
    if (roots === undefined) missing['client_roots'] = askRoots;
    return askFor(missing, await requestStateCodec.mint({ tool, round: 1 }, ctx));
  });

  // Round 1 asks step1 (a name), round 2 step2 (a colour); each round mints a new state, so the
  // requestState the client echoes differs between rounds, as the scenario checks.
  const multiRound = 'test_input_required_result_multi_round';
  const askStep1 = inputRequired.elicit({ message: 'Step 1: What is your name?', requestedSchema: NAME_SCHEMA });
  const askStep2 = inputRequired.elicit({
    message: 'Step 2: What is your favorite color?',
    requestedSchema: { type: 'object', properties: { color: { type: 'string' } }, required: ['color'] },
  });
  server.registerTool(multiRound, { description: 'Asks for a name, then a colour, then answers' }, async (ctx) => {
    const state = ctx.mcpReq.requestState<FlowState>();
    const ours = state?.tool === multiRound ? state : undefined;
    if (ours?.round === 2) {
      const color = acceptedString(ctx, 'step2', 'color');
      if (color !== undefined) return text(`${ours.name ?? 'Someone'} likes ${color}`);
      return askFor({ step2: askStep2 }, await requestStateCodec.mint(ours, ctx));
    }
    const name = ours?.round === 1 ? acceptedString(ctx, 'step1', 'name') : undefined;
    if (name !== undefined) return askFor({ step2: askStep2 }, await requestStateCodec.mint({ tool: multiRound, round: 2, name }, ctx));
    return askFor({ step1: askStep1 }, await requestStateCodec.mint({ tool: multiRound, round: 1 }, ctx));
  });

  // SEP-2322: only ask for what this request's envelope declares.
  server.registerTool('test_input_required_result_capabilities', { description: 'Asks only for inputs the client can give' }, (ctx) => {
    const can = declaredCapabilities(ctx) ?? { elicitation: {}, sampling: {}, roots: {} };
    const wanted: Record<string, InputRequest> = {};
    if (can.elicitation !== undefined && acceptedString(ctx, 'user_name', 'name') === undefined) wanted['user_name'] = askName;
    if (can.sampling !== undefined && samplingText(ctx, 'capital_question') === undefined) wanted['capital_question'] = askCapital;
    if (can.roots !== undefined && rootUris(ctx, 'client_roots') === undefined) wanted['client_roots'] = askRoots;
    return Object.keys(wanted).length === 0 ? text('every declared input was given') : askFor(wanted);
  });

  // Needs sampling whatever the client declared: a client without it gets -32021 from the SDK.
  server.registerTool('test_missing_capability', { description: 'Requires the sampling capability' }, askTheModel);
  server.registerTool('test_streaming_elicitation', { description: 'Asks for a name on its response stream' }, greetByName);

  // Legacy-era scenarios, written as input_required so both eras share them (the legacy shim sends
  // the real server-to-client request on a 2025 session).
  server.registerTool(
    'test_sampling',
    {
      description: 'Asks the client LLM to complete a prompt',
      inputSchema: z.object({ prompt: z.string().describe('The prompt to send') }),
    },
    ({ prompt }, ctx) => {
      const answer = samplingText(ctx, 'completion');
      if (answer !== undefined) return text(`LLM response: ${answer}`);
      const completion = inputRequired.createMessage({
        messages: [{ role: 'user', content: { type: 'text', text: prompt } }],
        maxTokens: 100,
      });
      return askFor({ completion });
    },
  );
  server.registerTool(
    'test_elicitation',
    {
      description: 'Asks the user for a username and email',
      inputSchema: z.object({ message: z.string().describe('Shown to the user') }),
    },
    ({ message }, ctx) => {
      const view = inputResponse(ctx.mcpReq.inputResponses, 'user_details');
      if (view.kind === 'elicit') return text(`User response: action=${view.action}, content=${JSON.stringify(view.content ?? {})}`);
      return askFor({
        user_details: inputRequired.elicit({
          message,
          requestedSchema: {
            type: 'object',
            properties: {
              username: { type: 'string', description: 'User name' },
              email: { type: 'string', description: 'Email address' },
            },
            required: ['username', 'email'],
          },
        }),
      });
    },
  );
  const elicitationOutcome = (ctx: ServerContext, key: string): CallToolResult | undefined => {
    const view = inputResponse(ctx.mcpReq.inputResponses, key);
    if (view.kind !== 'elicit') return undefined;
    return text(`Elicitation completed: action=${view.action}, content=${JSON.stringify(view.content ?? {})}`);
  };
  const defaultsTool = { description: 'Elicits fields with defaults (SEP-1034)', inputSchema: NO_ARGUMENTS };
  server.registerTool('test_elicitation_sep1034_defaults', defaultsTool, (_args, ctx) =>
    elicitationOutcome(ctx, 'defaults') ?? askFor({
      defaults: inputRequired.elicit({
        message: 'Please review and update the form fields with defaults',
        requestedSchema: {
          type: 'object',
          properties: {
            name: { type: 'string', description: 'User name', default: 'John Doe' },
            age: { type: 'integer', description: 'User age', default: 30 },
            score: { type: 'number', description: 'User score', default: 95.5 },
            status: { type: 'string', description: 'User status', enum: ['active', 'inactive', 'pending'], default: 'active' },
            verified: { type: 'boolean', description: 'Verification status', default: true },
          },
          required: [],
        },
      }),
    }),
  );
  const enumsTool = { description: 'Elicits every enum shape of SEP-1330', inputSchema: NO_ARGUMENTS };
  server.registerTool('test_elicitation_sep1330_enums', enumsTool, (_args, ctx) =>
    elicitationOutcome(ctx, 'enums') ?? askFor({
      enums: inputRequired.elicit({
        message: 'Please select options from the enum fields',
        requestedSchema: {
          type: 'object',
          properties: {
            untitledSingle: { type: 'string', description: 'Select one option', enum: ['option1', 'option2', 'option3'] },
            titledSingle: {
              type: 'string',
              description: 'Select one option with titles',
              oneOf: [
                { const: 'value1', title: 'First Option' },
                { const: 'value2', title: 'Second Option' },
                { const: 'value3', title: 'Third Option' },
              ],
            },
            legacyEnum: {
              type: 'string',
              description: 'Select one option (legacy)',
              enum: ['opt1', 'opt2', 'opt3'],
              enumNames: ['Option One', 'Option Two', 'Option Three'],
            },
            untitledMulti: {
              type: 'array',
              description: 'Select multiple options',
              minItems: 1,
              maxItems: 3,
              items: { type: 'string', enum: ['option1', 'option2', 'option3'] },
            },
            titledMulti: {
              type: 'array',
              description: 'Select multiple options with titles',
              minItems: 1,
              maxItems: 3,
              items: {
                anyOf: [
                  { const: 'value1', title: 'First Choice' },
                  { const: 'value2', title: 'Second Choice' },
                  { const: 'value3', title: 'Third Choice' },
                ],
              },
            },
          },
          required: [],
        },
      }),
    }),
  );
}

function registerResources(server: McpServer): void {
  for (const resource of STATIC_FIXTURE_RESOURCES) {
    server.registerResource(resource.name, resource.uri, resource.metadata, (uri) => ({ contents: [resource.contents(uri.href)] }));
  }
  server.registerResource(
    TEMPLATE_FIXTURE_RESOURCE.name,
    new ResourceTemplate(TEMPLATE_FIXTURE_RESOURCE.uriTemplate, { list: undefined }),
    TEMPLATE_FIXTURE_RESOURCE.metadata,
    (uri, variables) => ({ contents: [TEMPLATE_FIXTURE_RESOURCE.contents(uri.href, String(variables['id']))] }),
  );
}

function registerPrompts(server: McpServer): void {
  server.registerPrompt('test_simple_prompt', { description: 'A prompt without arguments' }, () => ({
    messages: [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } }],
  }));
  server.registerPrompt(
    'test_prompt_with_arguments',
    {
      description: 'A prompt with two required arguments; arg1 completes',
      argsSchema: z.object({
        arg1: completable(z.string().describe('First test argument'), (value) =>
          ['paris', 'park', 'party', 'test-value'].filter((candidate) => candidate.startsWith(value ?? '')),
        ),
        arg2: z.string().describe('Second test argument'),
      }),
    },
    ({ arg1, arg2 }) => ({
      messages: [{ role: 'user', content: { type: 'text', text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` } }],
    }),
  );
  server.registerPrompt(
    'test_prompt_with_embedded_resource',
    {
      description: 'A prompt that embeds the resource it is given',
      argsSchema: z.object({ resourceUri: z.string().describe('URI to embed') }),
    },
    ({ resourceUri }) => ({
      messages: [
        {
          role: 'user',
          content: { type: 'resource', resource: { uri: resourceUri, mimeType: 'text/plain', text: 'Embedded resource content for testing.' } },
        },
        { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } },
      ],
    }),
  );
  server.registerPrompt('test_prompt_with_image', { description: 'A prompt with an image' }, () => ({
    messages: [
      { role: 'user', content: { type: 'image', data: RED_PIXEL_PNG_BASE64, mimeType: 'image/png' } },
      { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } },
    ],
  }));
  // SEP-2322: input_required is not only for tools (scenario input-required-result-non-tool-request).
  const contextPrompt = { description: 'Asks the user for context, then builds the prompt' };
  server.registerPrompt('test_input_required_result_prompt', contextPrompt, (ctx) => {
    const context = acceptedString(ctx, 'user_context', 'context');
    if (context !== undefined) {
      return { messages: [{ role: 'user', content: { type: 'text', text: `Use this context: ${context}` } }] };
    }
    return askFor({
      user_context: inputRequired.elicit({
        message: 'What context should the prompt use?',
        requestedSchema: { type: 'object', properties: { context: { type: 'string' } }, required: ['context'] },
      }),
    });
  });
}

/**
 * Builds one server instance. The HTTP edge makes one per modern request and one per legacy
 * session, stdio one per connection: the definition holds no state between requests.
 */
export function createModernConformanceServer(options: ModernFixtureOptions): McpServer {
  const server = new McpServer(
    { name: 'gatehouse-conformance-fixture-modern', version: '1.0.0' },
    {
      capabilities: {
        tools: { listChanged: true },
        resources: { subscribe: true, listChanged: true },
        prompts: { listChanged: true },
        logging: {},
        completions: {},
      },
      // Spec 2026-07-28 (SEP-2549): list results say how long they may be cached, and by whom.
      cacheHints: {
        'tools/list': { ttlMs: 60_000, cacheScope: 'public' },
        'prompts/list': { ttlMs: 60_000, cacheScope: 'public' },
        'resources/list': { ttlMs: 60_000, cacheScope: 'public' },
        'resources/templates/list': { ttlMs: 60_000, cacheScope: 'public' },
        'resources/read': { ttlMs: 0, cacheScope: 'private' },
        'server/discover': { ttlMs: 60_000, cacheScope: 'public' },
      },
      requestState: { verify: (state, ctx) => requestStateCodec.verify(state, ctx) },
    },
  );
  registerContentTools(server);
  registerNotifyingTools(server, options);
  registerInputRequiredTools(server);
  registerResources(server);
  registerPrompts(server);

  // Legacy sessions only: 2026-07-28 removed these methods (subscriptions/listen replaces them),
  // and the SDK answers them 404/-32601 on that era whatever is registered here.
  const subscriptions = new Set<string>();
  server.server.setRequestHandler('resources/subscribe', (request) => {
    subscriptions.add(request.params.uri);
    return {};
  });
  server.server.setRequestHandler('resources/unsubscribe', (request) => {
    subscriptions.delete(request.params.uri);
    return {};
  });
  return server;
}

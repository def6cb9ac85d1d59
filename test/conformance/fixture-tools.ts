/**
 * The tools of the conformance fixture (test/fixtures/conformance-server.ts): one entry per tool a
 * server scenario of @modelcontextprotocol/conformance calls, with its wire definition and what it
 * does. docs/conformance.md says which scenario calls which tool and what it checks.
 */
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  CreateMessageResultSchema,
  ElicitResultSchema,
  type CallToolResult,
  type ElicitRequestFormParams,
  type LoggingLevel,
  type ServerNotification,
  type ServerRequest,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { RED_PIXEL_PNG_BASE64, SILENT_WAV_BASE64 } from './fixture-media.js';

type RequestExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** What one client connection (a stdio pipe, or one HTTP session) has told the server. */
export interface SessionState {
  /** Set by logging/setLevel; until then every level is sent. */
  logLevel: LoggingLevel | undefined;
  readonly subscriptions: Set<string>;
}

export interface FixtureTool {
  /** Sent verbatim in tools/list, so schemas reach the client byte for byte as written here. */
  readonly definition: Tool;
  run(args: Record<string, unknown>, extra: RequestExtra, session: SessionState): Promise<CallToolResult>;
}

const LOG_LEVEL_SEVERITY: Record<LoggingLevel, number> = {
  debug: 0,
  info: 1,
  notice: 2,
  warning: 3,
  error: 4,
  critical: 5,
  alert: 6,
  emergency: 7,
};

const NO_ARGUMENTS = { type: 'object', properties: {} } as const;

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function textResult(text: string): CallToolResult {
  return { content: [{ type: 'text', text }] };
}

/**
 * Sends a log message tied to the tool call, so on Streamable HTTP it travels on that call's SSE
 * stream. Filtering is ours because the SDK only filters its unrelated `sendLoggingMessage`.
 */
async function logForCall(extra: RequestExtra, session: SessionState, level: LoggingLevel, data: string): Promise<void> {
  if (session.logLevel !== undefined && LOG_LEVEL_SEVERITY[level] < LOG_LEVEL_SEVERITY[session.logLevel]) return;
  await extra.sendNotification({
    method: 'notifications/message',
    params: { level, logger: 'conformance-fixture', data },
  });
}

async function elicitForCall(extra: RequestExtra, params: ElicitRequestFormParams): Promise<CallToolResult> {
  // Sent as a request related to the tool call: it travels on the call's SSE stream, so a gateway
  // must relay server-to-client requests on that stream and route the answer back here.
  const result = await extra.sendRequest({ method: 'elicitation/create', params }, ElicitResultSchema);
  return textResult(`Elicitation completed: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`);
}

const stringArgument = (args: Record<string, unknown>, name: string): string | undefined => {
  const value = args[name];
  return typeof value === 'string' ? value : undefined;
};

export const FIXTURE_TOOLS: readonly FixtureTool[] = [
  {
    definition: { name: 'test_simple_text', description: 'Returns one text block.', inputSchema: NO_ARGUMENTS },
    run: async () => textResult('This is a simple text response for testing.'),
  },
  {
    definition: { name: 'test_image_content', description: 'Returns one PNG image block.', inputSchema: NO_ARGUMENTS },
    run: async () => ({ content: [{ type: 'image', data: RED_PIXEL_PNG_BASE64, mimeType: 'image/png' }] }),
  },
  {
    definition: { name: 'test_audio_content', description: 'Returns one WAV audio block.', inputSchema: NO_ARGUMENTS },
    run: async () => ({ content: [{ type: 'audio', data: SILENT_WAV_BASE64, mimeType: 'audio/wav' }] }),
  },
  {
    definition: {
      name: 'test_embedded_resource',
      description: 'Returns one embedded text resource.',
      inputSchema: NO_ARGUMENTS,
    },
    run: async () => ({
      content: [
        {
          type: 'resource',
          resource: {
            uri: 'test://embedded-resource',
            mimeType: 'text/plain',
            text: 'This is an embedded resource content.',
          },
        },
      ],
    }),
  },
  {
    definition: {
      name: 'test_multiple_content_types',
      description: 'Returns text, image and embedded resource blocks in one result.',
      inputSchema: NO_ARGUMENTS,
    },
    run: async () => ({
      content: [
        { type: 'text', text: 'Multiple content types test:' },
        { type: 'image', data: RED_PIXEL_PNG_BASE64, mimeType: 'image/png' },
        {
          type: 'resource',
          resource: {
            uri: 'test://mixed-content-resource',
            mimeType: 'application/json',
            text: JSON.stringify({ test: 'data', value: 123 }),
          },
        },
      ],
    }),
  },
  {
    definition: {
      name: 'test_tool_with_logging',
      description: 'Sends three info log notifications about 50 ms apart while it runs.',
      inputSchema: NO_ARGUMENTS,
    },
    run: async (_args, extra, session) => {
      await logForCall(extra, session, 'info', 'Tool execution started');
      await delay(50);
      await logForCall(extra, session, 'info', 'Tool processing data');
      await delay(50);
      await logForCall(extra, session, 'info', 'Tool execution completed');
      return textResult('Tool with logging executed successfully');
    },
  },
  {
    definition: {
      name: 'test_tool_with_progress',
      description: 'Reports progress 0, 50 and 100 of 100 when the call carries a progress token.',
      inputSchema: NO_ARGUMENTS,
    },
    run: async (_args, extra) => {
      const progressToken = extra._meta?.progressToken;
      for (const progress of [0, 50, 100]) {
        if (progressToken !== undefined) {
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken, progress, total: 100, message: `Completed ${progress} of 100` },
          });
        }
        if (progress < 100) await delay(50);
      }
      return textResult(`Progress reported for token ${String(progressToken)}`);
    },
  },
  {
    definition: {
      name: 'test_error_handling',
      description: 'Always fails with a tool execution error (isError: true).',
      inputSchema: NO_ARGUMENTS,
    },
    run: async () => ({
      isError: true,
      content: [{ type: 'text', text: 'This tool intentionally returns an error for testing' }],
    }),
  },
  {
    definition: {
      name: 'test_sampling',
      description: 'Asks the client to sample an LLM (sampling/createMessage) and returns its answer.',
      inputSchema: {
        type: 'object',
        properties: { prompt: { type: 'string', description: 'The prompt to send to the LLM' } },
        required: ['prompt'],
      },
    },
    run: async (args, extra) => {
      const prompt = stringArgument(args, 'prompt');
      if (prompt === undefined) return { isError: true, content: [{ type: 'text', text: 'prompt must be a string' }] };
      const result = await extra.sendRequest(
        {
          method: 'sampling/createMessage',
          params: { messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens: 100 },
        },
        CreateMessageResultSchema,
      );
      const answer = result.content.type === 'text' ? result.content.text : `[${result.content.type}]`;
      return textResult(`LLM response: ${answer}`);
    },
  },
  {
    definition: {
      name: 'test_elicitation',
      description: 'Asks the client for a username and email (elicitation/create).',
      inputSchema: {
        type: 'object',
        properties: { message: { type: 'string', description: 'The message to show the user' } },
        required: ['message'],
      },
    },
    run: async (args, extra) => {
      const message = stringArgument(args, 'message');
      if (message === undefined) return { isError: true, content: [{ type: 'text', text: 'message must be a string' }] };
      return elicitForCall(extra, {
        message,
        requestedSchema: {
          type: 'object',
          properties: {
            username: { type: 'string', description: "User's response" },
            email: { type: 'string', description: "User's email address" },
          },
          required: ['username', 'email'],
        },
      });
    },
  },
  {
    definition: {
      name: 'test_elicitation_sep1034_defaults',
      description: 'Elicits a form whose string, integer, number, enum and boolean fields carry defaults (SEP-1034).',
      inputSchema: NO_ARGUMENTS,
    },
    run: async (_args, extra) =>
      elicitForCall(extra, {
        message: 'Please review and update the form fields with defaults',
        requestedSchema: {
          type: 'object',
          properties: {
            name: { type: 'string', description: 'User name', default: 'John Doe' },
            age: { type: 'integer', description: 'User age', default: 30 },
            score: { type: 'number', description: 'User score', default: 95.5 },
            status: {
              type: 'string',
              description: 'User status',
              enum: ['active', 'inactive', 'pending'],
              default: 'active',
            },
            verified: { type: 'boolean', description: 'Verification status', default: true },
          },
          required: [],
        },
      }),
  },
  {
    definition: {
      name: 'test_elicitation_sep1330_enums',
      description: 'Elicits a form with all five enum shapes of SEP-1330.',
      inputSchema: NO_ARGUMENTS,
    },
    run: async (_args, extra) =>
      elicitForCall(extra, {
        message: 'Please pick from the enum fields',
        requestedSchema: {
          type: 'object',
          properties: {
            untitledSingle: { type: 'string', enum: ['option1', 'option2', 'option3'] },
            titledSingle: {
              type: 'string',
              oneOf: [
                { const: 'value1', title: 'First Option' },
                { const: 'value2', title: 'Second Option' },
                { const: 'value3', title: 'Third Option' },
              ],
            },
            legacyEnum: {
              type: 'string',
              enum: ['opt1', 'opt2', 'opt3'],
              enumNames: ['Option One', 'Option Two', 'Option Three'],
            },
            untitledMulti: { type: 'array', items: { type: 'string', enum: ['option1', 'option2', 'option3'] } },
            titledMulti: {
              type: 'array',
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
  },
  {
    // SEP-1613: $schema, $defs and additionalProperties must survive every hop unchanged.
    definition: {
      name: 'json_schema_2020_12_tool',
      description: 'Tool with JSON Schema 2020-12 features',
      inputSchema: {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        $defs: {
          address: { type: 'object', properties: { street: { type: 'string' }, city: { type: 'string' } } },
        },
        properties: { name: { type: 'string' }, address: { $ref: '#/$defs/address' } },
        additionalProperties: false,
      },
    },
    run: async (args) => textResult(`Received ${JSON.stringify(args)}`),
  },
  {
    definition: {
      name: 'test_reconnection',
      description: 'Closes its own SSE stream mid-call and answers after the client reconnects (SEP-1699).',
      inputSchema: NO_ARGUMENTS,
    },
    run: async (_args, extra) => {
      // Present only on Streamable HTTP with an event store and a 2025-11-25+ client; the result is
      // then stored and replayed when the client resumes with Last-Event-ID.
      extra.closeSSEStream?.();
      await delay(100);
      return textResult('Reconnection test completed successfully');
    },
  },
];

export const TOOLS_BY_NAME = new Map(FIXTURE_TOOLS.map((tool) => [tool.definition.name, tool]));
/** The tools/list result; built once, the same for every session. */
export const TOOL_LIST = { tools: FIXTURE_TOOLS.map((tool) => tool.definition) };

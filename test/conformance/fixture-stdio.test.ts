/**
 * The conformance fixture in stdio mode, the form a gateway launches as a local upstream. The suite
 * itself only speaks Streamable HTTP, so this checks the stdio side answers the same way.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
  type LoggingMessageNotification,
} from '@modelcontextprotocol/sdk/types.js';
import { CONFORMANCE_FIXTURE_STDIO_COMMAND } from './fixture-process.js';

describe('conformance fixture over stdio', { timeout: 120_000 }, () => {
  const client = new Client(
    { name: 'fixture-stdio-test', version: '1.0.0' },
    { capabilities: { sampling: {}, elicitation: {} } },
  );
  const logs: LoggingMessageNotification['params'][] = [];

  before(async () => {
    const [command, ...args] = CONFORMANCE_FIXTURE_STDIO_COMMAND;
    assert.ok(command);
    client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
      logs.push(notification.params);
    });
    client.setRequestHandler(CreateMessageRequestSchema, () => ({
      role: 'assistant',
      content: { type: 'text', text: 'sampled answer' },
      model: 'test-model',
      stopReason: 'endTurn',
    }));
    client.setRequestHandler(ElicitRequestSchema, () => ({
      action: 'accept',
      content: { username: 'ada', email: 'ada@example.com' },
    }));
    // The SDK's stdio transport spawns the child and kills it on close().
    await client.connect(new StdioClientTransport({ command, args, stderr: 'inherit' }));
  });
  after(async () => {
    await client.close();
  });

  test('lists every tool the suite calls', async () => {
    const { tools } = await client.listTools();
    const names = tools.map((tool) => tool.name);
    for (const name of ['test_simple_text', 'test_sampling', 'test_elicitation', 'json_schema_2020_12_tool']) {
      assert.ok(names.includes(name), `missing ${name}`);
    }
    const schemaTool = tools.find((tool) => tool.name === 'json_schema_2020_12_tool');
    assert.equal(schemaTool?.inputSchema['$schema'], 'https://json-schema.org/draft/2020-12/schema');
  });

  test('relays a sampling request to the client and returns its answer', async () => {
    const result = await client.callTool({ name: 'test_sampling', arguments: { prompt: 'hello' } });
    assert.deepEqual(result.content, [{ type: 'text', text: 'LLM response: sampled answer' }]);
  });

  test('relays an elicitation request to the client and returns its answer', async () => {
    const result = await client.callTool({ name: 'test_elicitation', arguments: { message: 'who?' } });
    assert.deepEqual(result.content, [
      { type: 'text', text: 'Elicitation completed: action=accept, content={"username":"ada","email":"ada@example.com"}' },
    ]);
  });

  test('filters log notifications by the level the client set', async () => {
    logs.length = 0;
    await client.setLoggingLevel('warning');
    await client.callTool({ name: 'test_tool_with_logging', arguments: {} });
    assert.equal(logs.length, 0, 'info messages were sent although the level is warning');
    await client.setLoggingLevel('info');
    await client.callTool({ name: 'test_tool_with_logging', arguments: {} });
    assert.deepEqual(
      logs.map((log) => log.data),
      ['Tool execution started', 'Tool processing data', 'Tool execution completed'],
    );
  });

  test('reads a resource through its template', async () => {
    const result = await client.readResource({ uri: 'test://template/42/data' });
    assert.deepEqual(result.contents, [
      {
        uri: 'test://template/42/data',
        mimeType: 'application/json',
        text: '{"id":"42","templateTest":true,"data":"Data for ID: 42"}',
      },
    ]);
  });
});

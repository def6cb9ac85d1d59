import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  type Progress,
} from '@modelcontextprotocol/sdk/types.js';
import { startHttpFixture, fixturePath, type HttpFixture } from '../fixtures/spawn-fixture.js';
import { everythingStdio, startGateway, type GatewayProcess } from '../helpers/gateway-process.js';
import { textOf } from '../helpers/results.js';

async function connect(url: string, name = 'e2e'): Promise<Client> {
  const client = new Client(
    { name, version: '1.0.0' },
    { capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } } },
  );
  // Answers sampling with a text that names this client, so cross-talk would show.
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => ({
    role: 'assistant',
    model: `model-of-${name}`,
    content: { type: 'text', text: `sampled by ${name}: ${JSON.stringify(request.params.messages[0]?.content)}` },
  }));
  client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { name: `elicited by ${name}` } }));
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

// The same scenarios run against the everything server reached over stdio and over Streamable HTTP.
for (const upstreamKind of ['stdio', 'streamable-http'] as const) {
  describe(`through the gateway to server-everything over ${upstreamKind}`, () => {
    let gateway: GatewayProcess;
    let upstream: HttpFixture | undefined;
    let client: Client;

    before(async () => {
      let server: Record<string, unknown> = everythingStdio;
      if (upstreamKind === 'streamable-http') {
        upstream = await startHttpFixture(fixturePath('everything-http.ts'));
        server = { url: upstream.url };
      }
      gateway = await startGateway({ servers: { everything: server } });
      client = await connect(`${gateway.url}/mcp`);
    });

    after(async () => {
      await client?.close();
      await gateway?.close();
      await upstream?.close();
    });

    test('lists the server\'s tools under the server__tool namespace with schemas and annotations intact', async () => {
      const { tools } = await client.listTools();
      const echo = tools.find((tool) => tool.name === 'everything__echo');
      assert.ok(echo, `everything__echo missing from ${tools.map((tool) => tool.name).join(', ')}`);
      assert.equal(echo.annotations?.readOnlyHint, true);
      assert.deepEqual(Object.keys(echo.inputSchema.properties ?? {}), ['message']);
      assert.ok(tools.every((tool) => tool.name.startsWith('everything__') && tool.name.length <= 64));
    });

    test('calls a tool and returns its result unchanged, CRLF and unusual unicode included', async () => {
      const message = 'line one\r\nline two \u2028 \u{1F600} \u0000 end';
      const result = await client.callTool({ name: 'everything__echo', arguments: { message } });
      assert.equal(textOf(result), `Echo: ${message}`);
      const sum = await client.callTool({ name: 'everything__get-sum', arguments: { a: 2, b: 40 } });
      assert.match(textOf(sum), /42/);
    });

    test('preserves structuredContent from the upstream', async () => {
      const result = await client.callTool({ name: 'everything__get-structured-content', arguments: { location: 'New York' } });
      assert.ok(result.structuredContent, 'structuredContent was dropped');
    });

    test('an unknown tool is a JSON-RPC error that names it', async () => {
      await assert.rejects(client.callTool({ name: 'everything__no-such-tool', arguments: {} }), /everything__no-such-tool/);
      await assert.rejects(client.callTool({ name: 'nosuchserver__echo', arguments: {} }), /Unknown tool/);
    });

    test('relays progress notifications of a long-running tool to the caller', async () => {
      const progress: Progress[] = [];
      const result = await client.callTool(
        { name: 'everything__trigger-long-running-operation', arguments: { duration: 1, steps: 3 } },
        undefined,
        { onprogress: (update) => progress.push(update) },
      );
      assert.match(textOf(result), /completed/i);
      assert.equal(progress.length, 3);
      assert.deepEqual(progress.map((update) => update.progress), [1, 2, 3]);
    });

    test('routes a sampling request from the server to the calling client and its answer back', async () => {
      const result = await client.callTool({ name: 'everything__trigger-sampling-request', arguments: { prompt: 'hello', maxTokens: 10 } });
      assert.match(textOf(result), /sampled by e2e/);
    });

    test('routes an elicitation request to the calling client and its answer back', async () => {
      const result = await client.callTool({ name: 'everything__trigger-elicitation-request', arguments: {} });
      assert.match(JSON.stringify(result), /elicited by e2e/);
    });

    test('lists and gets prompts, and completes prompt arguments', async () => {
      const { prompts } = await client.listPrompts();
      assert.ok(prompts.some((prompt) => prompt.name === 'everything__simple-prompt'));
      const prompt = await client.getPrompt({ name: 'everything__simple-prompt' });
      assert.match(JSON.stringify(prompt.messages), /simple prompt/);
      const completion = await client.complete({
        ref: { type: 'ref/prompt', name: 'everything__completable-prompt' },
        argument: { name: 'department', value: 'Eng' },
      });
      assert.deepEqual(completion.completion.values, ['Engineering']);
    });

    test('lists resources and templates under prefixed URIs and reads them back', async () => {
      const { resources } = await client.listResources();
      const first = resources[0];
      assert.ok(first, 'no resources listed');
      assert.ok(first.uri.startsWith('everything+'), first.uri);
      const read = await client.readResource({ uri: first.uri });
      assert.equal(read.contents[0]?.uri, first.uri);
      const { resourceTemplates } = await client.listResourceTemplates();
      assert.ok(resourceTemplates.length > 0);
      assert.ok(resourceTemplates.every((template) => template.uriTemplate.startsWith('everything+')));
    });

    test('sets the logging level and relays log messages', async () => {
      const logs: unknown[] = [];
      client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
        logs.push(notification.params);
      });
      await client.setLoggingLevel('debug');
      await client.callTool({ name: 'everything__toggle-simulated-logging', arguments: {} });
      // The server logs on a timer; wait for the first message to arrive (or fail after the test timeout).
      while (logs.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
      await client.callTool({ name: 'everything__toggle-simulated-logging', arguments: {} });
      assert.ok(logs.length > 0);
    });

    test('relays resources/updated for a subscribed resource, under the URI the client subscribed to', async () => {
      const { resources } = await client.listResources();
      const uri = resources[0]!.uri;
      const updated = new Promise<string>((resolve) =>
        client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => resolve(notification.params.uri)),
      );
      await client.subscribeResource({ uri });
      await client.callTool({ name: 'everything__toggle-subscriber-updates', arguments: {} });
      try {
        // The server sends an update for each subscription every 5 s.
        assert.equal(await updated, uri);
      } finally {
        await client.callTool({ name: 'everything__toggle-subscriber-updates', arguments: {} });
        await client.unsubscribeResource({ uri });
      }
    });

    test('answers ping', async () => {
      assert.deepEqual(await client.ping(), {});
    });

    test('serves the one server at /servers/everything/mcp with its names unchanged', async () => {
      const single = await connect(`${gateway.url}/servers/everything/mcp`, 'single');
      try {
        const { tools } = await single.listTools();
        assert.ok(tools.some((tool) => tool.name === 'echo'));
        assert.ok(!tools.some((tool) => tool.name.includes('__')));
        const result = await single.callTool({ name: 'echo', arguments: { message: 'direct' } });
        assert.equal(textOf(result), 'Echo: direct');
        assert.equal(single.getServerVersion()?.name, 'mcp-servers/everything');
      } finally {
        await single.close();
      }
    });

    test('two concurrent clients never receive each other\'s progress or sampling requests', async () => {
      const alice = await connect(`${gateway.url}/mcp`, 'alice');
      const bob = await connect(`${gateway.url}/mcp`, 'bob');
      try {
        const aliceProgress: Progress[] = [];
        const bobProgress: Progress[] = [];
        const [aliceLong, bobLong, aliceSample, bobSample] = await Promise.all([
          alice.callTool({ name: 'everything__trigger-long-running-operation', arguments: { duration: 1, steps: 4 } }, undefined, {
            onprogress: (update) => aliceProgress.push(update),
          }),
          bob.callTool({ name: 'everything__trigger-long-running-operation', arguments: { duration: 1, steps: 2 } }, undefined, {
            onprogress: (update) => bobProgress.push(update),
          }),
          alice.callTool({ name: 'everything__trigger-sampling-request', arguments: { prompt: 'from alice' } }),
          bob.callTool({ name: 'everything__trigger-sampling-request', arguments: { prompt: 'from bob' } }),
        ]);
        assert.match(textOf(aliceLong), /completed/i);
        assert.match(textOf(bobLong), /completed/i);
        assert.deepEqual(aliceProgress.map((update) => update.total), [4, 4, 4, 4]);
        assert.deepEqual(bobProgress.map((update) => update.total), [2, 2]);
        assert.match(textOf(aliceSample), /sampled by alice.*from alice/);
        assert.match(textOf(bobSample), /sampled by bob.*from bob/);
      } finally {
        await alice.close();
        await bob.close();
      }
    });
  });
}

// The client address limits key on (`key: [client]`): the HTTP peer's IP, one spelling per client,
// read by a real server on loopback.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request, type IncomingMessage } from 'node:http';
import { networkInterfaces } from 'node:os';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { clientAddressOf } from '../../src/frontends/index.js';

/** The address a real server on `host` reads for a request sent from `localAddress`. */
async function addressSeen(host: string, localAddress: string): Promise<string> {
  let seen = '';
  const server = createServer((incoming: IncomingMessage, response) => {
    seen = clientAddressOf(incoming);
    response.end();
  });
  server.listen(0, host);
  await once(server, 'listening');
  try {
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve, reject) => {
      request({ host: '127.0.0.1', port, localAddress, agent: false }, (response) => response.resume().on('end', resolve)).on('error', reject).end();
    });
    return seen;
  } finally {
    server.close();
    await once(server, 'close');
  }
}

describe('client address', () => {
  test('is the peer IP of an HTTP client', async () => {
    assert.equal(await addressSeen('127.0.0.1', '127.0.0.2'), '127.0.0.2');
  });

  const ipv6 = Object.values(networkInterfaces()).some((addresses) => addresses?.some((address) => address.family === 'IPv6' && address.internal));
  test('is written the IPv4 way when a dual-stack listener sees an IPv4 peer as ::ffff:…', { skip: ipv6 ? false : 'no IPv6 loopback on this host' }, async () => {
    // "::" listens on IPv6 and IPv4 (unless the host disables dual stack): the peer arrives as ::ffff:127.0.0.3.
    assert.equal(await addressSeen('::', '127.0.0.3'), '127.0.0.3');
  });
});

import assert from 'node:assert/strict';
import { GatehouseError } from '../../src/core/index.js';

/** Asserts a refusal: the catalogue code, the stable failure reason, and no trace of the token. */
export async function assertRefused(
  attempt: Promise<unknown>,
  token: string,
  expected: { code: 'unauthorized' | 'insufficient_scope'; failure?: string; mentions?: RegExp },
): Promise<GatehouseError> {
  const error = await attempt.then(
    () => assert.fail('the token was accepted'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof GatehouseError, `expected a GatehouseError, got ${String(error)}`);
  assert.equal(error.code, expected.code);
  if (expected.failure !== undefined) assert.equal(error.data?.['failure'], expected.failure, error.message);
  if (expected.mentions !== undefined) assert.match(error.message, expected.mentions);
  const wire = JSON.stringify(error.toRpcError());
  if (token !== '') {
    assert.ok(!error.message.includes(token), 'the message echoes the token');
    assert.ok(!wire.includes(token), 'the wire error echoes the token');
  }
  // Not even a part of it: the signature or the payload alone would be as bad.
  for (const part of token.split('.')) {
    if (part.length > 8) assert.ok(!error.message.includes(part) && !wire.includes(part), 'the error echoes a part of the token');
  }
  return error;
}

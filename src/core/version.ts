/** The gateway's own version, as it introduces itself to clients and servers. Kept in step with package.json by a test. */
export const GATEWAY_VERSION = '0.1.0';

export { configSchema } from './schema.js';
export type { GatehouseConfig, ConfigInput, ServerConfig, StdioServerConfig, HttpServerConfig, IssuerConfig, AuthConfig, PolicyConfig } from './schema.js';
export { loadConfigFile, parseConfigText, validateConfig } from './load.js';
export { formatIssues } from '../core/index.js';
export { substituteEnv } from './substitute-env.js';
export { configJsonSchemaText } from './json-schema.js';
export { fromClientConfig, isClientConfigDocument } from './client-config-import.js';

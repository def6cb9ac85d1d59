export { configSchema } from './schema.js';
export type { GatehouseConfig, ConfigInput, ServerConfig, StdioServerConfig, HttpServerConfig } from './schema.js';
export { loadConfigFile, parseConfigText, validateConfig, formatIssues } from './load.js';
export { substituteEnv } from './substitute-env.js';
export { configJsonSchemaText } from './json-schema.js';

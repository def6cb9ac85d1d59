/**
 * The gateway's heavy parts, loaded by the command that needs them rather than at startup: importing
 * them up front (kysely, better-sqlite3, pg, CEL, undici, the admin API's schemas) made every `gatehouse`
 * command, `--help` included, take ~0.9 s to start instead of ~0.1 s.
 */

export const loadAdmin = (): Promise<typeof import('../admin/index.js')> => import('../admin/index.js');
export const loadRegistry = (): Promise<typeof import('../registry/index.js')> => import('../registry/index.js');
export const loadConfig = (): Promise<typeof import('../config/index.js')> => import('../config/index.js');
export const loadCore = (): Promise<typeof import('../core/index.js')> => import('../core/index.js');
export const loadApp = (): Promise<typeof import('../app.js')> => import('../app.js');
export const loadYaml = (): Promise<typeof import('yaml')> => import('yaml');

/** MCP method names, one constant each, so that a typo is a compile error rather than a silent miss. */
export const Method = {
  initialize: 'initialize',
  initialized: 'notifications/initialized',
  ping: 'ping',
  toolsList: 'tools/list',
  toolsCall: 'tools/call',
  promptsList: 'prompts/list',
  promptsGet: 'prompts/get',
  resourcesList: 'resources/list',
  resourceTemplatesList: 'resources/templates/list',
  resourcesRead: 'resources/read',
  resourcesSubscribe: 'resources/subscribe',
  resourcesUnsubscribe: 'resources/unsubscribe',
  completionComplete: 'completion/complete',
  loggingSetLevel: 'logging/setLevel',
  progress: 'notifications/progress',
  cancelled: 'notifications/cancelled',
  message: 'notifications/message',
  resourceUpdated: 'notifications/resources/updated',
  toolsListChanged: 'notifications/tools/list_changed',
  promptsListChanged: 'notifications/prompts/list_changed',
  resourcesListChanged: 'notifications/resources/list_changed',
  rootsListChanged: 'notifications/roots/list_changed',
  samplingCreateMessage: 'sampling/createMessage',
  elicitationCreate: 'elicitation/create',
  rootsList: 'roots/list',
} as const;

export type ListKind = 'tools' | 'prompts' | 'resources' | 'resourceTemplates';

export const listMethodOf: Record<ListKind, string> = {
  tools: Method.toolsList,
  prompts: Method.promptsList,
  resources: Method.resourcesList,
  resourceTemplates: Method.resourceTemplatesList,
};

/** Which key of a list result holds the items. */
export const listKeyOf: Record<ListKind, string> = {
  tools: 'tools',
  prompts: 'prompts',
  resources: 'resources',
  resourceTemplates: 'resourceTemplates',
};

export const listChangedKindOf: ReadonlyMap<string, readonly ListKind[]> = new Map<string, readonly ListKind[]>([
  [Method.toolsListChanged, ['tools']],
  [Method.promptsListChanged, ['prompts']],
  [Method.resourcesListChanged, ['resources', 'resourceTemplates']],
]);

/** Which client capability a server-to-client request needs (spec §Client features). */
export const clientCapabilityFor: ReadonlyMap<string, string> = new Map([
  [Method.samplingCreateMessage, 'sampling'],
  [Method.elicitationCreate, 'elicitation'],
  [Method.rootsList, 'roots'],
]);

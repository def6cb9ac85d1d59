export { Router } from './router.js';
export type { RouterOptions, RouteOutcome } from './router.js';
export type { ClientLink } from './client-link.js';
export type { View, ItemSelection } from './view.js';
export { AGGREGATE_VIEW_NAME, serverView } from './view.js';
export { virtualView, type SelectionSpec } from './virtual-view.js';
export { exposedName, exposedUri, splitExposedUri, MAX_NAME_LENGTH } from './names.js';
export { Catalog, LIST_KINDS } from './catalog.js';

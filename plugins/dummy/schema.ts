// dummy's stdin config (draft-07): only the standard keys.
import { netConfProperties } from '../../shared/cni/schema-parts.js';

export const schema = { type: 'object', properties: { ...netConfProperties } } as const;

// loopback's stdin config (draft-07): only the standard keys. The reference decodes them into
// types.NetConf, so a wrong type (e.g. `"type": 5`) is an error there too.
import { netConfProperties } from '../../shared/cni/schema-parts.js';

export const schema = { type: 'object', properties: { ...netConfProperties } } as const;

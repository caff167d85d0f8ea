// etcd v3 client over the JSON gateway: see client.ts.
export { EtcdClient } from './client.js';
export { EtcdError, EtcdRefusedError, EtcdUnavailableError, isEtcdRefused, isEtcdUnavailable } from './errors.js';
export { Watch, type WatchHandlers } from './watch.js';
export { prefixRangeEnd } from './codec.js';
export type * from './types.js';

export * from './connections';
export * from './request-windows';
export * from './source';
export * from './token-buckets';
export * from './read-rate.settings';
export * from './keyed-slots';

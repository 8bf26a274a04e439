export * from './env';
export * from './processes';
export * from './webhook-sink';
export * from './secrets';
export * from './http';
export * from './unleash-admin';
export * from './distributed';
export * from './database';

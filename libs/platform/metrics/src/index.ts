export * from './definitions';
export * from './metrics';
export * from './conventions';
export * from './exposition';
export * from './elapsed';

export * from './auth';
export * from './body';
export * from './platform.module';
export * from './nest-logger';
export * from './service-main';
export * from './tokens-file';
export * from './bus-consumer';

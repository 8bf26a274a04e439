export * from './route-doc';
export * from './document';
export * from './openapi.controller';
export * from './routes';

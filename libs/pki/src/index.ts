export * from './pki';
export * from './pki-dir';

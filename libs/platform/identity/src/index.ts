export * from './identity-provider';
export * from './users';
export * from './totp';

import { stackEnv, uniqueName } from '@countersign/testing';
import { flagAdminSuite } from './flag-admin.suite';
import { createUnleashFlagAdmin } from './unleash-flag-admin';

// real: the Unleash server (admin API and event search), shared with the other runs; fake: nothing.
jest.setTimeout(60_000);

const env = stackEnv();
flagAdminSuite(
  'Unleash',
  async () => ({ admin: createUnleashFlagAdmin({ url: env.unleashUrl, token: env.unleashAdminToken }), prefix: `${uniqueName('fa')}.` }),
  { keepsHistory: true },
);

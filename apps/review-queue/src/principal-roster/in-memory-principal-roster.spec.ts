import { InMemoryPrincipalRoster } from './in-memory-principal-roster';
import { principalRosterSuite } from './principal-roster.suite';

// real: the in-memory twin (a restart is the same object: its storage is the process's); fake: nothing.
principalRosterSuite('in-memory', async () => {
  const roster = new InMemoryPrincipalRoster();
  return { roster, reopened: () => roster };
});

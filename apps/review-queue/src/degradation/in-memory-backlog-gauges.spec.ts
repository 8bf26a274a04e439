import { backlogGaugesSuite } from './backlog-gauges.suite';
import { InMemoryBacklogGauges } from './in-memory-backlog-gauges';

// real: the in-memory twin; fake: nothing.
backlogGaugesSuite('in-memory', async () => new InMemoryBacklogGauges());

import { InMemoryAgentStats } from '@countersign/policy';
import { agentStatsSuite } from './agent-stats.suite';

// real: the in-process agent statistics; fake: nothing.
agentStatsSuite('in-memory', async (clock) => new InMemoryAgentStats(clock));

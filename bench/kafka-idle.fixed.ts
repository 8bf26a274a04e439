// The `fixed` side of bench/kafka-idle.bench.ts: kafkajs as the bus runs it. Loading the bus fixes kafkajs' request queues
// (docs/adr/0044) before this process makes a client.
import '@countersign/bus';
import { runSide } from './kafka-idle.bench';

runSide('fixed');

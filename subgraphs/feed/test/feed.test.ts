// The home feed through the gateway against the machine's standalone Redis and NATS; the
// scenarios are shared with test/faults/cluster.test.ts (Redis Cluster, NATS cluster).
import { feedScenarios } from './feed-scenarios.js';

feedScenarios();

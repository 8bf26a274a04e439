-- Up Migration
-- Where each trimmed partition of the in-process broker's log begins: the messages below were handled by every group
-- that reads the topic and are deleted (InMemoryBroker.trim). A partition with no row begins at 0. Forward only.
CREATE TABLE IF NOT EXISTS bus_log_starts (
  topic text NOT NULL,
  partition integer NOT NULL,
  start bigint NOT NULL,
  PRIMARY KEY (topic, partition)
);

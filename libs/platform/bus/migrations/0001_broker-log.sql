-- Up Migration
-- The in-process broker's log and its consumer groups' positions (the embedded mode, in its own database):
-- what was published survives a restart, and each group resumes where it had committed. Forward only.
CREATE TABLE IF NOT EXISTS bus_messages (
  topic text NOT NULL,
  partition integer NOT NULL,
  "offset" bigint NOT NULL,
  key bytea, -- bytes, as Kafka keeps them: a key may hold what text cannot (a NUL)
  value bytea NOT NULL,
  PRIMARY KEY (topic, partition, "offset")
);
CREATE TABLE IF NOT EXISTS bus_committed_offsets (
  group_id text NOT NULL,
  topic text NOT NULL,
  partition integer NOT NULL,
  "offset" bigint NOT NULL,
  PRIMARY KEY (group_id, topic, partition)
);

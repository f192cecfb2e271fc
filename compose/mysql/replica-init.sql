-- target-replica (docker-compose.yml): replicates the target by GTID auto-positioning, from the
-- start of its binlog (the target's init users included: the replica then has the tideferry
-- user too, for throttle.replicas to read its lag). Runs once, on the first start.
CHANGE REPLICATION SOURCE TO
  SOURCE_HOST = 'target',
  SOURCE_PORT = 3306,
  SOURCE_USER = 'replicator',
  SOURCE_PASSWORD = 'replicator',
  SOURCE_AUTO_POSITION = 1,
  GET_SOURCE_PUBLIC_KEY = 1;
START REPLICA;

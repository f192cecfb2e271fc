-- The target's migration user (docker-compose.yml): creates the tables and writes every row.
-- The replica user: target-replica replicates from here. Local-stack passwords only.
CREATE USER 'tideferry'@'%' IDENTIFIED BY 'tideferry';
GRANT ALL ON *.* TO 'tideferry'@'%';
CREATE USER 'replicator'@'%' IDENTIFIED WITH mysql_native_password BY 'replicator';
GRANT REPLICATION SLAVE ON *.* TO 'replicator'@'%';

-- The source's migration user (docker-compose.yml; README, "Local stack"): reads every row and
-- the binlog; SYSTEM_VARIABLES_ADMIN lets cutover.mode read-only set read_only. A sample
-- database to migrate. Local-stack passwords, never for a real server.
CREATE USER 'tideferry'@'%' IDENTIFIED BY 'tideferry';
GRANT SELECT, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT, SYSTEM_VARIABLES_ADMIN, CONNECTION_ADMIN ON *.* TO 'tideferry'@'%';
CREATE DATABASE shop;
GRANT ALL ON shop.* TO 'tideferry'@'%';
CREATE TABLE shop.customers (
  id INT AUTO_INCREMENT PRIMARY KEY,
  email VARCHAR(120) NOT NULL,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO shop.customers (email)
  WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
  SELECT CONCAT('customer', i, '@example.com') FROM n;

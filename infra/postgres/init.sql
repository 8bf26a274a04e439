-- Roles and databases of the local stack (docker-compose); infra/stack.sh creates the same ones.
CREATE ROLE countersign LOGIN CREATEDB PASSWORD 'countersign';
CREATE ROLE countersign_audit LOGIN PASSWORD 'countersign_audit';
CREATE ROLE unleash LOGIN PASSWORD 'unleash';
CREATE DATABASE countersign OWNER countersign;
CREATE DATABASE unleash OWNER unleash;

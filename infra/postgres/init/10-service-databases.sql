-- One database and one login per service, each owning only its own database, as a production
-- deployment would have it. Run once by the postgres image on an empty data volume
-- (docker-entrypoint-initdb.d); psql's \gexec lets one list drive every statement.
-- Passwords equal the role name: this server is a lab, published on 127.0.0.1 only.

CREATE TEMP TABLE lab_service (name text PRIMARY KEY);
INSERT INTO lab_service (name) VALUES
  ('cqrs_command'),
  ('saga_orchestrator'),
  ('saga_flights'),
  ('saga_hotels'),
  ('saga_cars'),
  ('saga_payments');

SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', name, name)
  FROM lab_service
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = name)
\gexec

SELECT format('CREATE DATABASE %I OWNER %I', name, name)
  FROM lab_service
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = name)
\gexec

-- CONNECT is granted to PUBLIC by default; without this revoke any service could open any database.
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', name) FROM lab_service
\gexec

-- Up Migration

-- A factory is a named template (composition defaults plus a pinned engine)
-- that jobs are submitted against. The pin changes only by an explicit call,
-- which bumps the revision; every job records the factory revision it used.
CREATE TABLE factories (
  tenant          text NOT NULL,
  name            text NOT NULL,
  template        jsonb NOT NULL,
  engine_name     text NOT NULL,
  engine_version  text NOT NULL,
  revision        int  NOT NULL DEFAULT 1,
  description     text NOT NULL DEFAULT '',
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, name)
);

ALTER TABLE jobs ADD COLUMN factory text, ADD COLUMN factory_revision int;

-- Down Migration
ALTER TABLE jobs DROP COLUMN factory, DROP COLUMN factory_revision;
DROP TABLE factories;

-- Up Migration

-- Per-tenant object stores (issue 7). A row names where media lives and where the
-- manager finds the credentials (a reference: env var names or "default"), never a secret.
CREATE TABLE stores (
  tenant       text NOT NULL,
  name         text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  kind         text NOT NULL CHECK (kind IN ('s3', 'gcs', 'azure')),
  bucket       text NOT NULL,
  prefix       text NOT NULL DEFAULT '',
  region       text,
  endpoint     text,
  -- { "source": "default" } | { "source": "env", "vars": { "<field>": "<ENV_VAR_NAME>" } }
  credentials  jsonb NOT NULL DEFAULT '{"source":"default"}',
  -- input (versioned), intermediate (short lifecycle), output (versioned, CDN-fronted)
  role         text NOT NULL DEFAULT 'output' CHECK (role IN ('input', 'intermediate', 'output')),
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, name)
);

-- Watch folders: a job from `template` for each new object under store/prefix.
CREATE TABLE watch_folders (
  tenant        text NOT NULL,
  name          text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  store         text NOT NULL,
  prefix        text NOT NULL,
  -- a composition with "input.uri" and "output.uri" filled in per object ({key}, {name} placeholders)
  template      jsonb NOT NULL,
  output_prefix text NOT NULL,
  enabled       boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_polled_at timestamptz,
  PRIMARY KEY (tenant, name)
);

-- Objects a watch folder has seen (one job per object version: key + size + modified).
CREATE TABLE watch_seen (
  tenant      text NOT NULL,
  watch       text NOT NULL,
  key         text NOT NULL,
  version     text NOT NULL,
  job_id      uuid,
  seen_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, watch, key, version),
  FOREIGN KEY (tenant, watch) REFERENCES watch_folders (tenant, name) ON DELETE CASCADE
);

-- Staging of failed and cancelled jobs is removed by the cleanup sweep; this marks it done.
ALTER TABLE jobs ADD COLUMN staging_cleaned_at timestamptz;

-- Down Migration

ALTER TABLE jobs DROP COLUMN staging_cleaned_at;
DROP TABLE watch_seen;
DROP TABLE watch_folders;
DROP TABLE stores;

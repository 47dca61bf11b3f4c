-- Up Migration

-- The region's engine registry: the only engines a composition or factory may
-- name. An engine is a name and a full version with either an image pinned by
-- digest (container runner) or no image: the hosts' own binaries (process
-- runner, used by local and embedded regions and by tests).
CREATE TABLE engines (
  id             bigserial PRIMARY KEY,
  name           text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,31}$'),
  version        text NOT NULL CHECK (version ~ '^[0-9]+(\.[0-9]+){0,3}$'),
  image          text CHECK (image ~ '@sha256:[0-9a-f]{64}$'),
  digest         text,
  encoders       text[] NOT NULL DEFAULT '{}',
  hwaccels       text[] NOT NULL DEFAULT '{}',
  hardware       text NOT NULL CHECK (hardware IN ('cpu', 'gpu', 'any')),
  registered_at  timestamptz NOT NULL DEFAULT now(),
  registered_by  text NOT NULL DEFAULT '',
  -- the digest is derived from the image, never given separately, so the two cannot disagree
  CHECK ((image IS NULL AND digest IS NULL) OR digest = split_part(image, '@', 2))
);
-- one host-binary engine per name and version as well: NULL images are equal here
CREATE UNIQUE INDEX engines_identity ON engines (name, version, image) NULLS NOT DISTINCT;

-- What a job's pin resolved to at submission; never changed afterwards. NULL
-- for jobs from before the registry (and jobs written by the store alone).
ALTER TABLE jobs ADD COLUMN engine_resolved_version text, ADD COLUMN engine_image text;
ALTER TABLE tasks ADD COLUMN engine_image text;

-- A host that runs engines as images and pulls them through the regional mirror.
ALTER TABLE coordinators ADD COLUMN pulls_images boolean NOT NULL DEFAULT false;

-- Down Migration
ALTER TABLE coordinators DROP COLUMN pulls_images;
ALTER TABLE tasks DROP COLUMN engine_image;
ALTER TABLE jobs DROP COLUMN engine_resolved_version, DROP COLUMN engine_image;
DROP TABLE engines;

-- Console users and API tokens (docs/adr/0018). Only hashes are kept: argon2 for passwords, sha256 for
-- tokens (a token is 256 random bits, so a fast hash is enough and lets a request be checked by lookup).

CREATE TABLE users (
    email         text PRIMARY KEY,  -- recruit_sync.addresses.email_key of the address
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    created_at    timestamptz NOT NULL
);

CREATE TABLE tokens (
    name         text PRIMARY KEY,
    token_hash   text NOT NULL UNIQUE,
    role         text NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz
);

-- The users overview of an agency (members and pending invitations), paged by keyset on
-- (sort key, id) for every sort order without reading the whole agency.
--
-- A member's name, email and last activity live on users, but the overview pages through one
-- agency's memberships, so these are copied onto memberships and kept current by triggers:
--   sort_name   the lower-cased display name ("first last", or the email when both are empty),
--               cut to 64 characters so a cursor stays short; ties are broken by user id
--   sort_active users.last_active_at, 0 when never active
--   search_text "first last email", lower-cased, which a search scans without reading users
-- sort_name compares bytewise (COLLATE "C"), as the service merges members and invited people
-- in that order.
ALTER TABLE memberships ADD COLUMN sort_name TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE memberships ADD COLUMN sort_active BIGINT NOT NULL DEFAULT 0;
ALTER TABLE memberships ADD COLUMN search_text TEXT NOT NULL DEFAULT '';

CREATE FUNCTION directory_name_key(first_name TEXT, last_name TEXT, email TEXT) RETURNS TEXT
    LANGUAGE sql IMMUTABLE AS $$
    SELECT lower(substr(CASE WHEN trim(first_name || ' ' || last_name) = '' THEN email
                             ELSE trim(first_name || ' ' || last_name) END, 1, 64))
$$;

UPDATE memberships m SET
    sort_name = directory_name_key(u.first_name, u.last_name, u.email),
    sort_active = coalesce(u.last_active_at, 0),
    search_text = lower(u.first_name || ' ' || u.last_name || ' ' || u.email)
FROM users u WHERE u.id = m.user_id;

CREATE FUNCTION memberships_directory_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT directory_name_key(u.first_name, u.last_name, u.email), coalesce(u.last_active_at, 0),
           lower(u.first_name || ' ' || u.last_name || ' ' || u.email)
        INTO NEW.sort_name, NEW.sort_active, NEW.search_text
        FROM users u WHERE u.id = NEW.user_id;
    RETURN NEW;
END
$$;

CREATE TRIGGER memberships_directory_insert BEFORE INSERT ON memberships
    FOR EACH ROW EXECUTE FUNCTION memberships_directory_insert();

CREATE FUNCTION users_directory_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE memberships SET
        sort_name = directory_name_key(NEW.first_name, NEW.last_name, NEW.email),
        sort_active = coalesce(NEW.last_active_at, 0),
        search_text = lower(NEW.first_name || ' ' || NEW.last_name || ' ' || NEW.email)
    WHERE user_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_directory_update AFTER UPDATE OF first_name, last_name, email, last_active_at
    ON users FOR EACH ROW EXECUTE FUNCTION users_directory_update();

CREATE INDEX memberships_by_name ON memberships(agency_id, sort_name, user_id);
CREATE INDEX memberships_by_created ON memberships(agency_id, created_at, user_id);
CREATE INDEX memberships_by_active ON memberships(agency_id, sort_active, user_id);

-- Grants on one scope (an environment, a bot, the agency), for the environment filter.
CREATE INDEX grants_scope ON grants(scope_id, user_id);

-- Pending invitations of an agency, for the invited rows of the overview.
CREATE INDEX invitations_pending ON invitations(agency_id, created_at, id) WHERE status = 'pending';

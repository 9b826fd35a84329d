-- The users overview of an agency (members and pending invitations), paged by keyset on
-- (sort key, id) for every sort order without reading the whole agency.
--
-- A member's name, email and last activity live on users, but the overview pages through one
-- agency's memberships, so these are copied onto memberships and kept current by triggers:
--   sort_name   the lower-cased display name ("first last", or the email when both are empty),
--               cut to 64 characters so a cursor stays short; ties are broken by user id
--   sort_active users.last_active_at, 0 when never active
--   search_text "first last email", lower-cased, which a search scans without reading users
ALTER TABLE memberships ADD COLUMN sort_name TEXT NOT NULL DEFAULT '';
ALTER TABLE memberships ADD COLUMN sort_active BIGINT NOT NULL DEFAULT 0;
ALTER TABLE memberships ADD COLUMN search_text TEXT NOT NULL DEFAULT '';

UPDATE memberships SET
    sort_name = (SELECT lower(substr(CASE WHEN trim(u.first_name || ' ' || u.last_name) = ''
                                          THEN u.email
                                          ELSE trim(u.first_name || ' ' || u.last_name) END, 1, 64))
                 FROM users u WHERE u.id = memberships.user_id),
    sort_active = (SELECT coalesce(u.last_active_at, 0) FROM users u
                   WHERE u.id = memberships.user_id),
    search_text = (SELECT lower(u.first_name || ' ' || u.last_name || ' ' || u.email) FROM users u
                   WHERE u.id = memberships.user_id);

CREATE TRIGGER memberships_directory_insert AFTER INSERT ON memberships
BEGIN
    UPDATE memberships SET
        sort_name = (SELECT lower(substr(CASE WHEN trim(u.first_name || ' ' || u.last_name) = ''
                                              THEN u.email
                                              ELSE trim(u.first_name || ' ' || u.last_name) END,
                                         1, 64))
                     FROM users u WHERE u.id = NEW.user_id),
        sort_active = (SELECT coalesce(u.last_active_at, 0) FROM users u WHERE u.id = NEW.user_id),
        search_text = (SELECT lower(u.first_name || ' ' || u.last_name || ' ' || u.email)
                       FROM users u WHERE u.id = NEW.user_id)
    WHERE agency_id = NEW.agency_id AND user_id = NEW.user_id;
END;

CREATE TRIGGER users_directory_name AFTER UPDATE OF first_name, last_name, email ON users
BEGIN
    UPDATE memberships SET
        sort_name = lower(substr(CASE WHEN trim(NEW.first_name || ' ' || NEW.last_name) = ''
                                      THEN NEW.email
                                      ELSE trim(NEW.first_name || ' ' || NEW.last_name) END, 1, 64)),
        search_text = lower(NEW.first_name || ' ' || NEW.last_name || ' ' || NEW.email)
    WHERE user_id = NEW.id;
END;

CREATE TRIGGER users_directory_active AFTER UPDATE OF last_active_at ON users
BEGIN
    UPDATE memberships SET sort_active = coalesce(NEW.last_active_at, 0) WHERE user_id = NEW.id;
END;

CREATE INDEX memberships_by_name ON memberships(agency_id, sort_name, user_id);
CREATE INDEX memberships_by_created ON memberships(agency_id, created_at, user_id);
CREATE INDEX memberships_by_active ON memberships(agency_id, sort_active, user_id);

-- Grants on one scope (an environment, a bot, the agency), for the environment filter.
CREATE INDEX grants_scope ON grants(scope_id, user_id);

-- Pending invitations of an agency, for the invited rows of the overview.
CREATE INDEX invitations_pending ON invitations(agency_id, created_at, id) WHERE status = 'pending';

-- Text compares bytewise, as on SQLite, whatever collation the database was created with.
--
-- A PostgreSQL database takes its default collation from its cluster (en_US.UTF-8 on most
-- installations), and that collation orders text linguistically (accented letters beside the
-- plain ones, case and punctuation weighed after the letters) and lower-cases every letter,
-- where SQLite's BINARY collation orders by bytes and its lower() changes ASCII letters only.
-- usher relies on the SQLite behaviour: the users overview merges members and invited people
-- in byte order and resumes each from a cursor, ids break ties bytewise, searches and the
-- ASCII-case-insensitive uniqueness of role names lower-case ASCII only. Under another
-- collation pages of the overview skip or repeat people.
--
-- So every TEXT column becomes COLLATE "C": comparisons, ORDER BY, indexes and lower() on
-- them then work byte by byte. The directory's sort and search keys are recomputed with the
-- ASCII-only lower(). A new TEXT column must say COLLATE "C" too (the unit tests check).

-- A column named in a trigger's UPDATE OF list cannot change type: the trigger is dropped
-- and made again around the change.
DROP TRIGGER users_directory_update ON users;

DO $$
DECLARE
    col record;
BEGIN
    FOR col IN
        SELECT c.table_name, c.column_name
        FROM information_schema.columns c
        JOIN information_schema.tables t
            ON t.table_schema = c.table_schema AND t.table_name = c.table_name
        WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
          AND c.data_type = 'text' AND coalesce(c.collation_name, '') <> 'C'
        ORDER BY c.table_name, c.ordinal_position
    LOOP
        EXECUTE format('ALTER TABLE %I ALTER COLUMN %I TYPE TEXT COLLATE "C"',
                       col.table_name, col.column_name);
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION directory_name_key(first_name TEXT, last_name TEXT, email TEXT)
    RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT lower(substr(CASE WHEN trim(first_name || ' ' || last_name) = '' THEN email
                             ELSE trim(first_name || ' ' || last_name) END, 1, 64) COLLATE "C")
$$;

CREATE OR REPLACE FUNCTION directory_search_text(first_name TEXT, last_name TEXT, email TEXT)
    RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT lower((first_name || ' ' || last_name || ' ' || email) COLLATE "C")
$$;

CREATE OR REPLACE FUNCTION memberships_directory_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT directory_name_key(u.first_name, u.last_name, u.email), coalesce(u.last_active_at, 0),
           directory_search_text(u.first_name, u.last_name, u.email)
        INTO NEW.sort_name, NEW.sort_active, NEW.search_text
        FROM users u WHERE u.id = NEW.user_id;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION users_directory_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE memberships SET
        sort_name = directory_name_key(NEW.first_name, NEW.last_name, NEW.email),
        sort_active = coalesce(NEW.last_active_at, 0),
        search_text = directory_search_text(NEW.first_name, NEW.last_name, NEW.email)
    WHERE user_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_directory_update AFTER UPDATE OF first_name, last_name, email, last_active_at
    ON users FOR EACH ROW EXECUTE FUNCTION users_directory_update();

UPDATE memberships m SET
    sort_name = directory_name_key(u.first_name, u.last_name, u.email),
    search_text = directory_search_text(u.first_name, u.last_name, u.email)
FROM users u WHERE u.id = m.user_id;

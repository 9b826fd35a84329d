-- Custom roles get ids their agency chooses: a lowercase ASCII identifier ("night_shift",
-- [a-z][a-z0-9_]{1,39}, never a built-in role's name) instead of a random "crl_..." string.
-- Ids are unique per agency, so the key becomes (agency_id, id); names become unique ignoring
-- ASCII case. Every existing role gets an id made from its name, and every grant and stored
-- invitation is rewritten to hold the new ids; ids of roles that no longer exist are dropped
-- (they granted nothing). Audit entries keep the ids they were written with: they are history,
-- and their hash chain must not change.
--
-- The id made from a name: ASCII letters lower-cased, digits kept, every run of other
-- characters one '_' (accented letters too: the API asks for an id instead, a migration cannot
-- ask), none at either end, cut to 40 bytes. An empty result becomes "role"; one that is a
-- single letter, starts with a digit or is a built-in role's name gets "custom_" in front.
-- When two roles of an agency come to the same id, the oldest keeps it and each other one
-- becomes <id, cut short>__<its rank among the agency's roles by age>. Made ids never hold
-- "__" and ranks differ from role to role, so every id is unique in its agency. A name equal,
-- ignoring ASCII case, to an older name of its agency gets " (<new id>)" appended.
--
-- Text is compared with the "C" collation throughout, so that letters mean ASCII letters and
-- the result is the one the SQLite migration of the same number gives.

CREATE TEMP TABLE role_map ON COMMIT DROP AS
WITH RECURSIVE walk(old_id, agency_id, created_at, name, pos, made, gap) AS (
    SELECT id, agency_id, created_at, name, 1, '' COLLATE "C", 0 FROM custom_roles
    UNION ALL
    SELECT old_id, agency_id, created_at, name, pos + 1,
           CASE WHEN lower(substr(name, pos, 1) COLLATE "C") BETWEEN 'a' AND 'z'
                     OR substr(name, pos, 1) COLLATE "C" BETWEEN '0' AND '9'
                THEN made || CASE WHEN gap = 1 AND made <> '' THEN '_' ELSE '' END
                          || lower(substr(name, pos, 1) COLLATE "C")
                ELSE made END,
           CASE WHEN lower(substr(name, pos, 1) COLLATE "C") BETWEEN 'a' AND 'z'
                     OR substr(name, pos, 1) COLLATE "C" BETWEEN '0' AND '9'
                THEN 0 ELSE 1 END
    FROM walk WHERE pos <= length(name)
),
made AS (
    SELECT old_id, agency_id, created_at, name, rtrim(substr(made, 1, 40), '_') AS base
    FROM walk WHERE pos = length(name) + 1
),
based AS (
    SELECT old_id, agency_id, created_at, name,
           CASE WHEN base = '' THEN 'role'
                WHEN length(base) < 2 OR substr(base, 1, 1) COLLATE "C" NOT BETWEEN 'a' AND 'z'
                     OR base IN ('agent', 'operator', 'content_manager', 'analyst', 'producer',
                                 'developer', 'environment_manager', 'organisation_manager',
                                 'owner', 'bot_manager')
                THEN rtrim(substr('custom_' || base, 1, 40), '_')
                ELSE base END AS base
    FROM made
),
ranked AS (
    SELECT old_id, agency_id, name, base,
           row_number() OVER (PARTITION BY agency_id, base
                              ORDER BY created_at, old_id COLLATE "C") AS dup,
           row_number() OVER (PARTITION BY agency_id
                              ORDER BY created_at, old_id COLLATE "C") AS ordinal,
           row_number() OVER (PARTITION BY agency_id, lower(name COLLATE "C")
                              ORDER BY created_at, old_id COLLATE "C") AS same_name
    FROM based
),
mapped AS (
    SELECT old_id, agency_id, name, same_name,
           CASE WHEN dup = 1 THEN base
                ELSE rtrim(substr(base, 1, 38 - length(ordinal::text)), '_') || '__' || ordinal
           END AS new_id
    FROM ranked
)
SELECT old_id, agency_id, new_id,
       CASE WHEN same_name = 1 THEN name ELSE name || ' (' || new_id || ')' END AS new_name
FROM mapped;

ALTER TABLE custom_roles DROP CONSTRAINT custom_roles_pkey;
ALTER TABLE custom_roles DROP CONSTRAINT custom_roles_agency_id_name_key;
UPDATE custom_roles r SET id = m.new_id, name = m.new_name FROM role_map m WHERE m.old_id = r.id;
ALTER TABLE custom_roles ADD PRIMARY KEY (agency_id, id);
-- lower() under the "C" collation folds ASCII letters only, as the application compares names.
CREATE UNIQUE INDEX custom_roles_name ON custom_roles (agency_id, lower(name COLLATE "C"));

-- A grant's roles: split the list, map each old id, drop the ids of roles that are gone.
UPDATE grants g SET roles = coalesce((
    SELECT string_agg(coalesce(m.new_id, s.item), ',' ORDER BY s.ord)
    FROM unnest(string_to_array(g.roles, ',')) WITH ORDINALITY AS s(item, ord)
    LEFT JOIN role_map m ON m.agency_id = g.agency_id AND m.old_id = s.item
    WHERE s.item <> '' AND (m.new_id IS NOT NULL OR s.item NOT LIKE 'crl!_%' ESCAPE '!')), '')
WHERE g.roles LIKE '%crl!_%' ESCAPE '!';

-- An invitation's grants: a compact JSON array of {environment_id | bot_id, roles,
-- extra_permissions}. The json type keeps each element's text as written, so only the "roles"
-- array of each element is rebuilt, compact as the application writes it (role ids hold no
-- ']', so the pattern finds exactly that array).
UPDATE invitations i SET grants = rebuilt.grants
FROM (
    SELECT i2.id, '[' || string_agg(
        regexp_replace(e.elem::text, '"roles":\[[^]]*\]', '"roles":' || (
            SELECT '[' || coalesce(string_agg(to_json(coalesce(m.new_id, r.item))::text, ','
                                              ORDER BY r.ord), '') || ']'
            FROM json_array_elements_text(coalesce(e.elem -> 'roles', '[]'::json))
                 WITH ORDINALITY AS r(item, ord)
            LEFT JOIN role_map m ON m.agency_id = i2.agency_id AND m.old_id = r.item
            WHERE m.new_id IS NOT NULL OR r.item NOT LIKE 'crl!_%' ESCAPE '!')),
        ',' ORDER BY e.ord) || ']' AS grants
    FROM invitations i2, json_array_elements(i2.grants::json) WITH ORDINALITY AS e(elem, ord)
    WHERE i2.grants LIKE '%"crl!_%' ESCAPE '!'
      AND NOT EXISTS (SELECT 1 FROM json_array_elements(i2.grants::json) x
                      WHERE json_typeof(x) <> 'object'
                         OR json_typeof(coalesce(x -> 'roles', '[]'::json)) <> 'array')
    GROUP BY i2.id
) rebuilt
WHERE i.id = rebuilt.id;

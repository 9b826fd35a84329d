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

CREATE TEMP TABLE role_map AS
WITH RECURSIVE walk(old_id, agency_id, created_at, name, pos, made, gap) AS (
    SELECT id, agency_id, created_at, name, 1, '', 0 FROM custom_roles
    UNION ALL
    SELECT old_id, agency_id, created_at, name, pos + 1,
           CASE WHEN lower(substr(name, pos, 1)) BETWEEN 'a' AND 'z'
                     OR substr(name, pos, 1) BETWEEN '0' AND '9'
                THEN made || CASE WHEN gap = 1 AND made <> '' THEN '_' ELSE '' END
                          || lower(substr(name, pos, 1))
                ELSE made END,
           CASE WHEN lower(substr(name, pos, 1)) BETWEEN 'a' AND 'z'
                     OR substr(name, pos, 1) BETWEEN '0' AND '9'
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
                WHEN length(base) < 2 OR substr(base, 1, 1) NOT BETWEEN 'a' AND 'z'
                     OR base IN ('agent', 'operator', 'content_manager', 'analyst', 'producer',
                                 'developer', 'environment_manager', 'organisation_manager',
                                 'owner', 'bot_manager')
                THEN rtrim(substr('custom_' || base, 1, 40), '_')
                ELSE base END AS base
    FROM made
),
ranked AS (
    SELECT old_id, agency_id, name, base,
           row_number() OVER (PARTITION BY agency_id, base ORDER BY created_at, old_id) AS dup,
           row_number() OVER (PARTITION BY agency_id ORDER BY created_at, old_id) AS ordinal,
           row_number() OVER (PARTITION BY agency_id, lower(name) ORDER BY created_at, old_id)
               AS same_name
    FROM based
),
mapped AS (
    SELECT old_id, agency_id, name, same_name,
           CASE WHEN dup = 1 THEN base
                ELSE rtrim(substr(base, 1, 38 - length(ordinal)), '_') || '__' || ordinal
           END AS new_id
    FROM ranked
)
SELECT old_id, agency_id, new_id,
       CASE WHEN same_name = 1 THEN name ELSE name || ' (' || new_id || ')' END AS new_name
FROM mapped;

CREATE TABLE custom_roles_new (
    id TEXT NOT NULL,
    agency_id TEXT NOT NULL REFERENCES agencies(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    permissions TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    PRIMARY KEY (agency_id, id)
);
INSERT INTO custom_roles_new (id, agency_id, name, permissions, created_at)
SELECT m.new_id, r.agency_id, m.new_name, r.permissions, r.created_at
FROM custom_roles r JOIN role_map m ON m.old_id = r.id;
DROP TABLE custom_roles;
ALTER TABLE custom_roles_new RENAME TO custom_roles;
-- lower() folds ASCII letters only, as the application compares names.
CREATE UNIQUE INDEX custom_roles_name ON custom_roles(agency_id, lower(name));

-- A grant's roles: split the list, map each old id, drop the ids of roles that are gone.
CREATE TEMP TABLE grant_roles AS
WITH RECURSIVE split(grant_id, agency_id, pos, item, rest) AS (
    SELECT id, agency_id, 0, NULL, roles || ',' FROM grants WHERE roles LIKE '%crl!_%' ESCAPE '!'
    UNION ALL
    SELECT grant_id, agency_id, pos + 1, substr(rest, 1, instr(rest, ',') - 1),
           substr(rest, instr(rest, ',') + 1)
    FROM split WHERE rest <> ''
)
SELECT s.grant_id, s.pos, coalesce(m.new_id, s.item) AS item
FROM split s LEFT JOIN role_map m ON m.agency_id = s.agency_id AND m.old_id = s.item
WHERE s.item <> '' AND (m.new_id IS NOT NULL OR s.item NOT LIKE 'crl!_%' ESCAPE '!');

UPDATE grants SET roles = coalesce((
    SELECT group_concat(item, ',')
    FROM (SELECT item FROM grant_roles g WHERE g.grant_id = grants.id ORDER BY g.pos)), '')
WHERE roles LIKE '%crl!_%' ESCAPE '!';

-- An invitation's grants: a compact JSON array of {environment_id | bot_id, roles,
-- extra_permissions}; each "roles" array is mapped the same way, in place.
UPDATE invitations SET grants = (
    SELECT json_group_array(json(CASE WHEN json_type(g.value, '$.roles') = 'array'
        THEN json_set(g.value, '$.roles', json((
            SELECT json_group_array(item)
            FROM (SELECT coalesce(m.new_id, r.value) AS item
                  FROM json_each(g.value, '$.roles') r
                  LEFT JOIN role_map m
                      ON m.agency_id = invitations.agency_id AND m.old_id = r.value
                  WHERE m.new_id IS NOT NULL OR r.value NOT LIKE 'crl!_%' ESCAPE '!'
                  ORDER BY r.key))))
        ELSE g.value END))
    FROM (SELECT value FROM json_each(invitations.grants) ORDER BY key) g)
WHERE grants LIKE '%"crl!_%' ESCAPE '!' AND json_valid(grants)
  AND NOT EXISTS (SELECT 1 FROM json_each(invitations.grants) e WHERE e.type <> 'object');

DROP TABLE grant_roles;
DROP TABLE role_map;

/* The SQL migrations embedded at build time from sql/<dialect>/NNNN_<name>.sql. */
#ifndef USHER_STORE_MIGRATIONS_H
#define USHER_STORE_MIGRATIONS_H

struct store_migration {
    const char *dialect; /* "sqlite" or "postgres" */
    const char *name;    /* "0001_init.sql" */
    const char *sql;
};

/* Sorted by dialect then name; ends with an all-NULL entry. */
extern const struct store_migration store_migrations[];

#endif

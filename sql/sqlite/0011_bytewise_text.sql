-- SQLite already compares text bytewise (the BINARY collation) and its lower() changes ASCII
-- letters only; the PostgreSQL migration of this number makes PostgreSQL do the same. Nothing
-- changes here: the file keeps the two dialects' migrations in step.
SELECT 1;

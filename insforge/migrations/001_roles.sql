-- 001_roles.sql — LOCAL PLAIN POSTGRES ONLY. Skip this file on InsForge.
--
-- InsForge creates these roles itself (deploy/docker-init/db/db-init.sql plus its
-- backend migrations, plus more grants than here). This file exists so that a
-- throwaway PostgreSQL 15 (scripts/pg.sh) has the same three NOLOGIN roles that
-- PostgREST switches into per request (`set_config('role', <jwt role>, true)`):
--   anon           requests without a JWT (PGRST_DB_ANON_ROLE=anon)
--   authenticated  requests carrying a user JWT (what gatehouse mints)
--   project_admin  InsForge's admin/API-key path. Current InsForge (migration 045)
--                  gives it BYPASSRLS instead of a per-table policy; mirrored here.
-- It also mirrors InsForge's default privileges (db-init.sql, migration 045): tables
-- created later in public by this role are granted to all three roles, so a table
-- migration that forgets to revoke anon behaves locally as it would on InsForge.
-- Idempotent: safe to apply any number of times. Must run as a superuser (BYPASSRLS),
-- as the same role that applies the later migrations (default privileges are per
-- creating role).

do $$
begin
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'anon') then
    create role anon nologin;
  end if;
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'authenticated') then
    create role authenticated nologin;
  end if;
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'project_admin') then
    create role project_admin nologin bypassrls;
  else
    alter role project_admin bypassrls;
  end if;
end
$$;

grant usage on schema public to anon, authenticated, project_admin;

alter default privileges in schema public
  grant select, insert, update, delete on tables to anon, authenticated;
alter default privileges in schema public
  grant usage, select on sequences to anon, authenticated;
alter default privileges in schema public
  grant all privileges on tables to project_admin;
alter default privileges in schema public
  grant all privileges on sequences to project_admin;

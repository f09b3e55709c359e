-- 003_todos.sql — apply on InsForge (SQL editor) and locally. Needs 002.
--
-- A per-user table protected by row-level security. Each row belongs to the JWT
-- `sub` that created it (user_id defaults to requesting_user_id()); a user can
-- read, change and delete only their own rows and cannot insert or move a row
-- into someone else's name.
--
-- * FORCE row level security: RLS also applies to the table owner when it is not a
--   superuser (e.g. a migration role that later queries the table). Superusers and
--   BYPASSRLS roles still bypass it.
-- * InsForge admin access: older InsForge versions add a `project_admin_policy`
--   (FOR ALL TO project_admin USING (true)) by event trigger when RLS is first
--   enabled; current InsForge (migration 045) drops that machinery and gives the
--   project_admin role BYPASSRLS instead. Either way we don't create or drop it here,
--   and we leave project_admin's table privileges (InsForge default privileges) alone.
-- * No policy exists for anon; its privileges are revoked as well, so an anon
--   request is refused (42501 permission denied) rather than shown an empty table.
-- * Idempotent (if not exists / drop policy if exists): applying it twice is a
--   no-op. Between a drop and its re-create the table is deny-all (RLS with no
--   matching policy), never open.

create table if not exists public.todos (
  id          uuid        primary key default gen_random_uuid(),
  user_id     text        not null default public.requesting_user_id(),
  title       text        not null,
  is_complete boolean     not null default false,
  created_at  timestamptz not null default now()
);

create index if not exists todos_user_id_idx on public.todos (user_id);

alter table public.todos enable row level security;
alter table public.todos force row level security;

drop policy if exists todos_select_own on public.todos;
create policy todos_select_own on public.todos
  for select to authenticated
  using (user_id = public.requesting_user_id());

drop policy if exists todos_insert_own on public.todos;
create policy todos_insert_own on public.todos
  for insert to authenticated
  with check (user_id = public.requesting_user_id());

-- USING picks the rows a user may update; WITH CHECK validates the new row, so
-- `set user_id = 'someone-else'` fails with 42501 instead of handing the row over.
drop policy if exists todos_update_own on public.todos;
create policy todos_update_own on public.todos
  for update to authenticated
  using (user_id = public.requesting_user_id())
  with check (user_id = public.requesting_user_id());

drop policy if exists todos_delete_own on public.todos;
create policy todos_delete_own on public.todos
  for delete to authenticated
  using (user_id = public.requesting_user_id());

revoke all on table public.todos from public, anon;
grant select, insert, update, delete on table public.todos to authenticated;

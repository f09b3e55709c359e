-- 002_requesting_user_id.sql — apply on InsForge (SQL editor) and locally.
--
-- public.requesting_user_id() returns the `sub` claim of the current request's JWT
-- as TEXT, or NULL when there is no request, no claims, or an empty `sub`.
--
-- * `sub` is the Stytch user_id (consumer) or member_id (B2B) that gatehouse's
--   token-exchange mints, e.g. 'user-test-…' / 'member-test-…'. These are strings,
--   so do NOT use InsForge's auth.uid(): it casts `sub` to uuid and raises
--   `invalid input syntax for type uuid` for every Stytch id.
-- * PostgREST (v9+) and InsForge's in-process paths set only the JSON GUC
--   `request.jwt.claims`, transaction-local. After COMMIT a pooled connection keeps
--   the GUC defined but '' (empty string, not NULL), and ''::json raises
--   `invalid input syntax for type json`. The inner nullif(..., '') turns that into
--   NULL; the `true` (missing_ok) covers a connection where it was never set.
-- * The outer nullif(..., '') makes `"sub": ""` NULL too, so an empty subject can
--   never match a row.
-- STABLE: constant within one statement, so the planner evaluates it once per query
-- rather than once per row.

create or replace function public.requesting_user_id()
returns text
language sql
stable
as $$
  select nullif(
    nullif(current_setting('request.jwt.claims', true), '')::json ->> 'sub',
    ''
  )
$$;

comment on function public.requesting_user_id() is
  'JWT sub claim (Stytch user/member id) of the current PostgREST request, or NULL. gatehouse insforge/migrations/002.';

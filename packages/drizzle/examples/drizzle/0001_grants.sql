-- Custom SQL migration file, put your code below! --
-- ownerPolicyGrants(notes, { privileges: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] }): users reach
-- the table through RLS (policy notes_owner): every role gets in, rows stay private.
GRANT USAGE ON SCHEMA "app" TO PUBLIC;--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON "app"."notes" TO PUBLIC;

-- Custom SQL migration file, put your code below! --
-- Users reach the table through RLS (policy notes_owner): let every role in, rows stay private.
GRANT USAGE ON SCHEMA "app" TO PUBLIC;--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON "app"."notes" TO PUBLIC;--> statement-breakpoint
GRANT USAGE ON ALL SEQUENCES IN SCHEMA "app" TO PUBLIC;

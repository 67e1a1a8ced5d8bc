-- Users reach app.orders through RLS (policy orders_owner): let every role in, rows stay private.
-- On Lakebase, user roles get privileges through PUBLIC or grants to their own roles.
GRANT USAGE ON SCHEMA "app" TO PUBLIC;--> statement-breakpoint
GRANT SELECT, INSERT ON "app"."orders" TO PUBLIC;--> statement-breakpoint
GRANT USAGE ON SEQUENCE "app"."orders_id_seq" TO PUBLIC;

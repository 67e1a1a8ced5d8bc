-- The orders table, created and owned by the app's service principal (migrate() runs as the SP).
CREATE SCHEMA IF NOT EXISTS "app";--> statement-breakpoint
CREATE TABLE "app"."orders" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "app"."orders_id_seq"),
	"item" text NOT NULL,
	"quantity" integer DEFAULT 1 NOT NULL,
	"owner" text DEFAULT current_user NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "orders_quantity_positive" CHECK ("quantity" > 0)
);--> statement-breakpoint
-- Row-level security: a user sees and inserts only rows whose owner is their own Postgres role.
-- The SP owns the table, so it is not subject to the policy (it sees every row).
ALTER TABLE "app"."orders" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY "orders_owner" ON "app"."orders" AS PERMISSIVE FOR ALL TO public USING ("owner" = current_user) WITH CHECK ("owner" = current_user);

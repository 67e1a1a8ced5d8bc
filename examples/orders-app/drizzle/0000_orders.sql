CREATE SCHEMA "app";
--> statement-breakpoint
CREATE TABLE "app"."orders" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "app"."orders_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"item" text NOT NULL,
	"quantity" integer DEFAULT 1 NOT NULL,
	"owner" text DEFAULT current_user NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "orders_quantity_positive" CHECK ("app"."orders"."quantity" > 0)
);
--> statement-breakpoint
ALTER TABLE "app"."orders" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY "orders_owner" ON "app"."orders" AS PERMISSIVE FOR ALL TO public USING ("app"."orders"."owner" = current_user) WITH CHECK ("app"."orders"."owner" = current_user);
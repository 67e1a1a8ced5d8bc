CREATE SCHEMA "app";
--> statement-breakpoint
CREATE TABLE "app"."notes" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "app"."notes_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"owner" text DEFAULT current_user NOT NULL,
	"body" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "app"."notes" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY "notes_owner" ON "app"."notes" AS PERMISSIVE FOR ALL TO public USING ("app"."notes"."owner" = current_user) WITH CHECK ("app"."notes"."owner" = current_user);
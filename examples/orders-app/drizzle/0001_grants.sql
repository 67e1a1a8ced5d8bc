-- Custom SQL migration file, put your code below! --
-- ownerPolicyGrants(orders) of @lakebase-kit/drizzle: what users need to reach app.orders
-- through its owner policy (RLS keeps their rows apart). drizzle-kit does not generate GRANTs.
GRANT USAGE ON SCHEMA "app" TO PUBLIC;--> statement-breakpoint
GRANT SELECT, INSERT ON "app"."orders" TO PUBLIC;

-- Custom SQL migration file, put your code below! --
-- Demo orders for alice and bob, inserted by the SP on their behalf. Applied once (the
-- migration journal), and idempotent on its own: nothing is added for an owner who has rows.
INSERT INTO "app"."orders" ("item", "quantity", "owner")
SELECT seed.item, seed.quantity, seed.owner
FROM (VALUES
	(1, 'Espresso beans', 2, 'alice@example.com'),
	(2, 'Oat milk', 6, 'alice@example.com'),
	(3, 'Pour-over kettle', 1, 'bob@example.com'),
	(4, 'Paper filters', 3, 'bob@example.com')
) AS seed (n, item, quantity, owner)
WHERE NOT EXISTS (SELECT 1 FROM "app"."orders" o WHERE o.owner = seed.owner)
ORDER BY seed.n;

-- A redelivery (recordkit webhooks redeliver) is one more attempt of the same delivery: its attempt
-- count goes on from where it was (the log keeps the history) instead of starting again at 0.
-- budget_from is the count when the current budget of RECORDKIT_WEBHOOK_MAX_ATTEMPTS began: 0, or
-- the count at the last redelivery, so a redelivered delivery still gets a whole budget of retries.
ALTER TABLE webhook_deliveries ADD COLUMN budget_from INTEGER NOT NULL DEFAULT 0;

DROP TABLE keycrm_budget;
DROP TABLE outbox;
DROP TABLE inbox;
DROP TABLE keycrm_integrations;
DROP TABLE webhook_tokens;
DROP TABLE admin_tokens;
DROP TABLE accounts;

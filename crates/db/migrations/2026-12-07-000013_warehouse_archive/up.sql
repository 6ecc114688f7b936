-- An archived warehouse leaves every form and the mapping but keeps its ledger and balances.
ALTER TABLE warehouses ADD COLUMN archived_at timestamptz;
